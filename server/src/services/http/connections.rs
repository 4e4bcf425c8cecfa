//! Serving a port's connections: the allow-list, the accept gate's caps
//! and refusals, the header timeout, and plain HTTP or HTTPS, each
//! connection served by hyper with the port's router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{fanout, Transport};
use crate::security::access::AllowList;
use crate::services::accept::{serve_connections, Gate, Refusals};
use crate::services::StartEnv;

/// Serves `router` on `listener` behind the panel settings' allow-list,
/// connection caps and header timeout: plain HTTP, or HTTPS when `tls`
/// is given (the handshake must finish within the header timeout too).
pub(crate) fn serve_router(
    env: &StartEnv,
    name: &'static str,
    listener: TcpListener,
    router: Router,
    allow: AllowList,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> BoxFuture<'static, anyhow::Result<()>> {
    let s = env.settings();
    let not_allowed = not_allowed_text(name);
    let router = router.layer(middleware::from_fn_with_state(
        (Arc::new(allow.clone()), not_allowed),
        allow_list,
    ));
    let gate = Gate::new(allow, s.panel.max_http_connections);
    let refusals = refusals(tls.is_some(), not_allowed);
    let each = EachConnection {
        name,
        router,
        header_timeout: Duration::from_secs(s.panel.header_timeout_secs.max(1)),
        shutdown: env.shutdown.clone(),
        tls,
    };
    serve_connections(
        listener,
        name,
        gate,
        refusals,
        env.shutdown.clone(),
        move |tcp, peer| each.clone().serve(tcp, peer),
    )
    .boxed()
}

/// What a refused connection is told; a TLS client cannot read a
/// plain-text refusal: it is only closed.
fn refusals(tls: bool, not_allowed: &str) -> Refusals {
    let refusal = |status, text| {
        if tls {
            Bytes::new()
        } else {
            plain_refusal(status, text)
        }
    };
    Refusals {
        not_allowed: refusal("403 Forbidden", not_allowed),
        full: refusal(
            "503 Service Unavailable",
            "too many connections; try again later\n",
        ),
        address_full: refusal(
            "503 Service Unavailable",
            "too many connections from this address; try again later\n",
        ),
    }
}

/// What every connection of a port is served with.
#[derive(Clone)]
struct EachConnection {
    name: &'static str,
    router: Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl EachConnection {
    /// One accepted connection: plain HTTP, or HTTPS once its handshake
    /// finishes within the header timeout.
    async fn serve(self, tcp: tokio::net::TcpStream, peer: SocketAddr) {
        let EachConnection {
            name,
            router,
            header_timeout,
            shutdown,
            tls,
        } = self;
        // Panel messages are small and latency-bound: send each at
        // once instead of letting Nagle's algorithm hold it behind
        // an unacknowledged one.
        let _ = tcp.set_nodelay(true);
        let Some(acceptor) = tls else {
            // Every write goes through one queue shared with
            // the panels' fan-out (fanout.rs).
            let io = fanout::PlainIo::new(tcp);
            let socket = io.socket();
            let transport = Transport::Plain;
            return serve_http(
                io,
                peer,
                transport,
                Some(socket),
                router,
                header_timeout,
                shutdown,
            )
            .await;
        };
        match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => {
                let transport = Transport::Tls;
                serve_http(
                    stream,
                    peer,
                    transport,
                    None,
                    router,
                    header_timeout,
                    shutdown,
                )
                .await
            }
            Ok(Err(e)) => tracing::debug!("{name}: TLS handshake with {peer} failed: {e}"),
            Err(_) => tracing::debug!("{name}: no TLS handshake from {peer} in time"),
        }
    }
}

/// A complete HTTP/1.1 answer for a connection refused at accept.
fn plain_refusal(status: &str, text: &str) -> Bytes {
    Bytes::from(format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    ))
}

/// Serves one HTTP connection with hyper directly rather than through
/// `axum::serve`, for two things axum::serve does not offer: a header read
/// timeout of our choosing (axum::serve builds its hyper connection itself,
/// with no way to set `header_read_timeout`; tower-http's TimeoutLayer
/// starts only once the head has arrived, so it cannot see a client that
/// dribbles its headers), and the accept loop of every TCP service
/// ([`serve_connections`]: connection cap and per-address cap).
async fn serve_http<Io>(
    io: Io,
    peer: SocketAddr,
    transport: Transport,
    plain: Option<fanout::PlainSocket>,
    router: Router,
    header_timeout: Duration,
    shutdown: CancellationToken,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = tower::ServiceBuilder::new()
        .map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(transport);
            if let Some(socket) = &plain {
                request.extensions_mut().insert(socket.clone());
            }
            request
        })
        .service(router);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        // The live channel's WebSocket takes the connection over.
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
        }
    }
}

/// How long a request in progress may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What a client outside the allow-list is told: the panel, Apprimo and
/// HTTPS ports share `[panel] allow`; the station has its own.
fn not_allowed_text(service: &str) -> &'static str {
    match service {
        "station" => "this address is not on the station's allow-list\n",
        _ => "this address is not on the panel service's allow-list\n",
    }
}

async fn allow_list(
    State((allow, not_allowed)): State<(Arc<AllowList>, &'static str)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if allow.allows(peer.ip()) {
        next.run(request).await
    } else {
        (StatusCode::FORBIDDEN, not_allowed).into_response()
    }
}
