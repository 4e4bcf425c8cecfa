//! What every TCP service does before it speaks its protocol: take the next
//! connection (pausing briefly on transient errors such as running out of
//! file descriptors, stopping on shutdown), then admit it or not by the
//! service's allow-list and connection cap. Each service words its own
//! refusal, in its own protocol, so the client can show why.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use controller_core::view::ServiceState;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::access::AllowList;
use crate::controller::Controller;

/// The next connection, or `None` once the service is shutting down.
pub async fn next_connection(
    listener: &TcpListener,
    service: &str,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            r = listener.accept() => match r {
                Ok(x) => return Some(x),
                Err(e) => {
                    tracing::warn!("{service}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// Whether a new connection may be served.
pub enum Admission {
    /// Served; the permit holds its place under the connection cap.
    Admitted(OwnedSemaphorePermit),
    /// Its address is not on the allow-list.
    NotAllowed,
    /// The connection cap is reached.
    Full,
}

/// A service's allow-list and connection cap.
#[derive(Clone)]
pub struct Gate {
    allow: AllowList,
    sessions: Arc<Semaphore>,
}

impl Gate {
    pub fn new(allow: AllowList, max_connections: usize) -> Gate {
        Gate {
            allow,
            sessions: Arc::new(Semaphore::new(max_connections)),
        }
    }

    pub fn admit(&self, peer: IpAddr) -> Admission {
        if !self.allow.allows(peer) {
            return Admission::NotAllowed;
        }
        match self.sessions.clone().try_acquire_owned() {
            Ok(permit) => Admission::Admitted(permit),
            Err(_) => Admission::Full,
        }
    }

    /// Admits a connection, or writes the service's refusal (`not_allowed` or
    /// `full`, in its own protocol) to it and returns `None`.
    pub async fn admit_or_refuse(
        &self,
        stream: &mut TcpStream,
        peer: IpAddr,
        not_allowed: &[u8],
        full: &[u8],
    ) -> Option<OwnedSemaphorePermit> {
        let refusal = match self.admit(peer) {
            Admission::Admitted(permit) => return Some(permit),
            Admission::NotAllowed => not_allowed,
            Admission::Full => full,
        };
        let _ = stream.write_all(refusal).await;
        None
    }
}

/// Services that change the controller (uploads, the console) stay off until
/// an admin user exists: registers such a service as disabled, with the way
/// to create one, and says whether it may start.
pub fn admin_exists_or_disable(controller: &Controller, name: &str, what: &str) -> bool {
    if controller.users().has_admin() {
        return true;
    }
    controller.services().register(
        name,
        &format!("{what}: OFF until an admin user exists (roomctl user add admin --role admin)"),
        "-".into(),
        name,
        ServiceState::Disabled,
    );
    controller.log().record(format!(
        "{name} is off: no admin user (create one with `roomctl user add admin --role admin`)"
    ));
    false
}
