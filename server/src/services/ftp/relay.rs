//! The FTP control connection relayed between the client and libunftp
//! (see [`super::guard`] for why): each client line checked by the guard
//! on its way, each reply of libunftp looked at on its way back (a login,
//! a passive-mode answer to rewrite, a transfer waiting for its data
//! connection), and the client's side taken to TLS on `AUTH TLS`.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::data::{self, DataLink, OfferSlot};
use super::guard::{check_line, check_tls, ControlTls, TlsState, TlsVerdict, Verdict, MAX_LINE};

/// The data connections of one session ([`super::data`]).
pub struct DataRules {
    /// Where the passive binder leaves the listener for the next `PASV`.
    pub offers: OfferSlot,
    /// `[ftp] data_timeout_secs`: how long after a transfer's `150` its
    /// data connection may take before the client gets `425`; also the
    /// time allowed to connect to the client in active mode.
    pub timeout: Duration,
}

/// Relays a control connection between `client` and `server` (libunftp),
/// filtering the client's commands, and taking the client's side to TLS
/// on `AUTH TLS` when `tls` is given. Returns when either side closes, or
/// the client has not logged in by `login_deadline`.
pub async fn relay<C, S>(
    client: C,
    mut server: S,
    client_ip: IpAddr,
    login_deadline: Duration,
    tls: Option<ControlTls>,
    data: DataRules,
) where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut session = Session {
        client_ip,
        deadline: tokio::time::Instant::now() + login_deadline,
        login_deadline,
        logged_in: false,
        tls_state: TlsState::default(),
        offered: tls.is_some(),
        required: tls.as_ref().is_some_and(|t| t.required),
        rules: data,
        link: None,
        data_deadline: None,
    };
    match pump(client, &mut server, &mut session).await {
        Pumped::Closed => {}
        Pumped::StartTls(client) => {
            let Some(tls) = tls else { return };
            let handshake = tokio::time::timeout_at(session.deadline, tls.acceptor.accept(client));
            match handshake.await {
                Ok(Ok(secure)) => {
                    session.tls_state.secured = true;
                    if let Pumped::StartTls(mut c) = pump(secure, &mut server, &mut session).await {
                        let _ = c.shutdown().await;
                    }
                }
                Ok(Err(e)) => tracing::info!("ftp: TLS handshake with {client_ip} failed: {e}"),
                Err(_) => tracing::info!("ftp: no TLS handshake from {client_ip} in time"),
            }
        }
    }
    let _ = server.shutdown().await;
}

/// One control session's state across the plain and the TLS part.
struct Session {
    client_ip: IpAddr,
    deadline: tokio::time::Instant,
    login_deadline: Duration,
    logged_in: bool,
    tls_state: TlsState,
    offered: bool,
    required: bool,
    rules: DataRules,
    /// The data connection of the next or current transfer.
    link: Option<DataLink>,
    /// A transfer started (`150`) without its data connection: `425` then.
    data_deadline: Option<tokio::time::Instant>,
}

/// How a stretch of relaying ended.
enum Pumped<C> {
    Closed,
    /// `234` was sent: the client starts its TLS handshake now.
    StartTls(C),
}

/// What one line from the client led to.
enum Step {
    Next,
    Closed,
    /// `AUTH TLS` was accepted (`234` sent).
    StartTls,
}

/// Relays both ways until either side closes, the login deadline passes,
/// or the client asks for TLS (then the client is handed back to be
/// wrapped; nothing it sent after `AUTH TLS` may be pending).
async fn pump<C, S>(mut client: C, server: &mut S, session: &mut Session) -> Pumped<C>
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut line = Vec::with_capacity(256);
    let mut from_client = vec![0u8; 4096];
    let mut from_server = vec![0u8; 8192];
    loop {
        tokio::select! {
            r = client.read(&mut from_client) => {
                let n = match r {
                    Ok(0) | Err(_) => return Pumped::Closed,
                    Ok(n) => n,
                };
                for (i, &byte) in from_client[..n].iter().enumerate() {
                    line.push(byte);
                    if byte == b'\n' {
                        let more = i + 1 != n;
                        match client_line(&mut client, server, session, &line, more).await {
                            Step::Next => line.clear(),
                            Step::Closed => return Pumped::Closed,
                            Step::StartTls => return Pumped::StartTls(client),
                        }
                    } else if line.len() >= MAX_LINE {
                        let _ = client.write_all(b"500 Command line too long; closing\r\n").await;
                        return Pumped::Closed;
                    }
                }
            }
            r = server.read(&mut from_server) => {
                let n = match r {
                    Ok(0) | Err(_) => {
                        let _ = client.shutdown().await;
                        return Pumped::Closed;
                    }
                    Ok(n) => n,
                };
                if !server_reply(&mut client, session, &from_server[..n]).await {
                    return Pumped::Closed;
                }
            }
            _ = tokio::time::sleep_until(session.data_deadline.unwrap_or(session.deadline)), if session.data_deadline.is_some() => {
                if !no_data_connection(&mut client, session).await {
                    return Pumped::Closed;
                }
            }
            // A client that has not logged in by the deadline is let go (it
            // would otherwise hold a place under the connection cap for the
            // idle timeout).
            _ = tokio::time::sleep_until(session.deadline), if !session.logged_in => {
                let reply = format!("421 No login within {} s; closing\r\n", session.login_deadline.as_secs());
                let _ = client.write_all(reply.as_bytes()).await;
                let _ = client.shutdown().await;
                return Pumped::Closed;
            }
        }
    }
}

/// One command line from the client: `AUTH TLS`, a refusal, an active-mode
/// `PORT`/`EPRT` (its data connection made here, libunftp told a local
/// port), or forwarded as it is. `more`: the client sent bytes after it.
async fn client_line<C, S>(
    client: &mut C,
    server: &mut S,
    session: &mut Session,
    line: &[u8],
    more: bool,
) -> Step
where
    C: AsyncWrite + Unpin,
    S: AsyncWrite + Unpin,
{
    let verdict = check_tls(
        line,
        session.offered,
        session.required,
        &mut session.tls_state,
    );
    let outcome = match verdict {
        TlsVerdict::StartTls => {
            if more {
                // Plain bytes sent after AUTH TLS and before the handshake
                // (command injection into the TLS session, CVE-2011-0411
                // style).
                let _ = client
                    .write_all(b"421 Data after AUTH TLS before the handshake; closing\r\n")
                    .await;
                return Step::Closed;
            }
            return match client
                .write_all(b"234 AUTH TLS OK; start the TLS handshake\r\n")
                .await
            {
                Ok(()) => Step::StartTls,
                Err(_) => Step::Closed,
            };
        }
        TlsVerdict::Refuse(reply) => Verdict::Refuse(reply),
        TlsVerdict::Pass => check_line(line, session.client_ip),
    };
    let sent = match outcome {
        Verdict::Forward(bytes) => server.write_all(&bytes).await,
        Verdict::Active(to) => match data::active(to, session.rules.timeout).await {
            Ok((link, port)) => {
                session.link = Some(link);
                let port_cmd = format!("PORT 127,0,0,1,{},{}\r\n", port >> 8, port & 0xff);
                server.write_all(port_cmd.as_bytes()).await
            }
            Err(e) => {
                tracing::info!("ftp: active-mode connection to {to} failed: {e}");
                session.link = None;
                let reply = format!("425 Cannot open the data connection to {to} ({e}); check your firewall, or use passive mode\r\n");
                client.write_all(reply.as_bytes()).await
            }
        },
        Verdict::Refuse(reply) => {
            tracing::info!(
                "ftp: refused from {}: {}",
                session.client_ip,
                reply.trim_end()
            );
            client.write_all(reply.as_bytes()).await
        }
    };
    if sent.is_err() {
        Step::Closed
    } else {
        Step::Next
    }
}

/// What libunftp answered, on its way to the client: a login's success
/// noted, a passive-mode answer rewritten to the public data port (whose
/// connection is relayed to libunftp's), a transfer's start timed. False
/// when the client is gone.
async fn server_reply<C>(client: &mut C, session: &mut Session, read: &[u8]) -> bool
where
    C: AsyncWrite + Unpin,
{
    // libunftp writes each reply whole: a `230` at the start of a line in
    // one read is the login's success.
    let mut chunk = std::borrow::Cow::Borrowed(read);
    if chunk.starts_with(b"230") || chunk.windows(4).any(|w| w == b"\n230") {
        session.logged_in = true;
    }
    let offer = session
        .rules
        .offers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(offer) = offer {
        let public = offer.public.local_addr().map(|a| a.port()).unwrap_or(0);
        if let Some(rewritten) = data::announce_port(&chunk, public) {
            let window = data::LIBUNFTP_ACCEPT_WINDOW.max(session.rules.timeout);
            session.link = Some(data::passive(offer, window));
            chunk = std::borrow::Cow::Owned(rewritten);
        } else {
            // Not the answer yet: keep the offer for it.
            *session
                .rules
                .offers
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(offer);
        }
    }
    if data::transfer_starts(&chunk) && !session.link.as_ref().is_some_and(DataLink::established) {
        session.data_deadline = Some(tokio::time::Instant::now() + session.rules.timeout);
    }
    client.write_all(&chunk).await.is_ok()
}

/// A transfer's data connection did not come in time: say so (libunftp
/// would wait in silence), and close its listener so a late connection
/// finds nothing. False when the client is gone.
async fn no_data_connection<C>(client: &mut C, session: &mut Session) -> bool
where
    C: AsyncWrite + Unpin,
{
    session.data_deadline = None;
    if session.link.as_ref().is_some_and(DataLink::established) {
        return true;
    }
    session.link = None;
    tracing::info!("ftp: no data connection from {} in time", session.client_ip);
    let reply = format!(
        "425 No data connection within {} s; check that your client can reach the data port (firewall, passive/active mode), then try again\r\n",
        session.rules.timeout.as_secs()
    );
    client.write_all(reply.as_bytes()).await.is_ok()
}
