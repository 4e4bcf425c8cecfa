//! The HTTPS service (443 on a LAN): the panel port's pages (admin,
//! status, panels) over TLS, with the controller's certificate
//! ([`crate::security::tls::TlsIdentity`]: the installer's, or one generated at first
//! start). The same router, allow-list rules and connection caps as the
//! panel port; each connection's TLS handshake must finish within the
//! header timeout. Panels keep working over plain HTTP on 80/8080 (wall
//! panels expect it); an installer who wants them encrypted points them
//! here.

use std::net::SocketAddr;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::{router, serve_router, PortKind};
use crate::config::Settings;
use crate::security::tls::TlsIdentity;
use crate::services::{bind_tcp, Endpoint, Service, StartEnv, StartError, Started};

pub struct HttpsService;

impl Service for HttpsService {
    fn name(&self) -> &'static str {
        "https"
    }

    fn enabled(&self, s: &Settings) -> bool {
        s.https.enabled
    }

    fn purpose(&self, s: &Settings) -> String {
        let cert = match &s.tls.cert_file {
            Some(file) => format!("certificate {}", file.display()),
            None => "certificate generated for this controller".to_string(),
        };
        let admin = if s.https.admin_requires_https {
            "; the only port admins log in on"
        } else {
            ""
        };
        format!("admin, status and panel pages over TLS ({cert}){admin}")
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        async move {
            let s = env.settings();
            let identity = TlsIdentity::load_or_create(s)
                .map_err(|e| StartError::Failed(format!("no TLS certificate: {e:#}")))?;
            let listener = bind_tcp(
                "https",
                "https",
                SocketAddr::new(s.https.bind, s.https.port),
            )
            .await?;
            let local = listener.local_addr()?;
            // The tablet layout at `/`, as on the panel port.
            let router = router(&env, PortKind::Panel, local.port());
            let acceptor = tokio_rustls::TlsAcceptor::from(identity.http_config.clone());
            let task = serve_router(
                &env,
                "https",
                listener,
                router,
                s.https.allow.clone(),
                Some(acceptor),
            );
            Ok(Started::listening(
                Endpoint {
                    addr: local,
                    describe: format!("tcp {local} (TLS)"),
                },
                task,
            ))
        }
        .boxed()
    }
}
