//! What every TCP service does before it speaks its protocol: take the next
//! connection (pausing briefly on transient errors such as running out of
//! file descriptors, stopping on shutdown), then admit it or not by the
//! service's allow-list, connection cap and per-address cap ([`Gate`]).
//! Each service words its own refusal, in its own protocol, so the client
//! can show why. Each service also closes a connection that has not logged
//! in within its `login_timeout_secs`: with the per-address cap, idle
//! sockets from one address cannot lock everyone else out.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::StartError;
use crate::runtime::sync::lock;
use crate::security::access::AllowList;
use crate::state::controller::Controller;

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
    /// Served; the place holds it under the connection caps.
    Admitted(Place),
    /// Its address is not on the allow-list.
    NotAllowed,
    /// The connection cap is reached.
    Full,
    /// Its address holds its share of the connections already.
    AddressFull,
}

/// An admitted connection's place under the service's cap and its
/// address's cap; given back when dropped.
pub struct Place {
    _permit: OwnedSemaphorePermit,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    peer: IpAddr,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut map = lock(&self.per_address);
        if let Some(n) = map.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.peer);
            }
        }
    }
}

/// A service's allow-list, connection cap and per-address cap: one
/// address may hold at most half of the service's connections (at least
/// one), so another address always finds a place.
#[derive(Clone)]
pub struct Gate {
    allow: AllowList,
    sessions: Arc<Semaphore>,
    per_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_address: usize,
}

impl Gate {
    pub fn new(allow: AllowList, max_connections: usize) -> Gate {
        Gate {
            allow,
            sessions: Arc::new(Semaphore::new(max_connections)),
            per_address: Arc::default(),
            max_per_address: (max_connections / 2).max(1),
        }
    }

    pub fn admit(&self, peer: IpAddr) -> Admission {
        if !self.allow.allows(peer) {
            return Admission::NotAllowed;
        }
        let mut map = lock(&self.per_address);
        let held = map.get(&peer).copied().unwrap_or(0);
        if held >= self.max_per_address {
            return Admission::AddressFull;
        }
        match self.sessions.clone().try_acquire_owned() {
            Ok(permit) => {
                map.insert(peer, held + 1);
                Admission::Admitted(Place {
                    _permit: permit,
                    per_address: self.per_address.clone(),
                    peer,
                })
            }
            Err(_) => Admission::Full,
        }
    }
}

/// What a refused client is told, in the service's own protocol.
#[derive(Clone)]
pub struct Refusals {
    /// Its address is not on the allow-list.
    pub not_allowed: Bytes,
    /// The connection cap is reached.
    pub full: Bytes,
    /// Its address holds its share of the connections already.
    pub address_full: Bytes,
}

/// How long a refused client gets to read why.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// The accept loop of every TCP service: takes connections until shutdown,
/// admits each through `gate` (a refused one gets its refusal, written in
/// its own task so a client that does not read cannot stall the loop) and
/// runs `handle` for each admitted one, holding its place under the cap
/// until it ends. Returns once every connection has ended.
pub async fn serve_connections<H, F>(
    listener: TcpListener,
    service: &'static str,
    gate: Gate,
    refusals: Refusals,
    shutdown: CancellationToken,
    handle: H,
) -> anyhow::Result<()>
where
    H: Fn(TcpStream, SocketAddr) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let tracker = TaskTracker::new();
    while let Some((stream, peer)) = next_connection(&listener, service, &shutdown).await {
        let refusal = match gate.admit(peer.ip()) {
            Admission::Admitted(place) => {
                let session = handle(stream, peer);
                tracker.spawn(async move {
                    let _place = place;
                    session.await;
                });
                continue;
            }
            Admission::NotAllowed => refusals.not_allowed.clone(),
            Admission::Full => refusals.full.clone(),
            Admission::AddressFull => refusals.address_full.clone(),
        };
        tracker.spawn(async move {
            let mut stream = stream;
            let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
                stream.write_all(&refusal).await?;
                stream.shutdown().await
            })
            .await;
        });
    }
    tracker.close();
    tracker.wait().await;
    Ok(())
}

/// Services that change the controller (uploads, the console) stay off until
/// an admin user exists.
pub fn require_admin(controller: &Controller) -> Result<(), StartError> {
    if controller.users().has_admin() {
        Ok(())
    } else {
        Err(StartError::Off(
            "until an admin user exists (roomctl user add admin --role admin)".into(),
        ))
    }
}
