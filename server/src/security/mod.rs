//! Who may do what: the user store and its roles, browser login sessions,
//! the IP allow-lists of the services, who may read `/metrics`, and the
//! TLS identity shared by HTTPS and FTPS.

pub mod access;
pub mod auth;
pub mod scrape_access;
pub mod sessions;
pub mod tls;
