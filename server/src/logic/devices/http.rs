//! An HTTP device: each `http` step is one request (HTTP/1.1, a new
//! connection each time, `Connection: close`), made with hyper's client.
//! The response body's lines go to the feedback rules. The device is up
//! while its requests (or `poll` requests) succeed; while it is down, a TCP
//! connect every `reconnect_secs` finds out when it is back.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::timeout;

use controller_core::logic::DeviceAddress;

use super::{DeviceError, DeviceLink, Payload, IO_TIMEOUT};

/// Largest response body read from a device.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub(super) async fn run(mut link: DeviceLink, address: DeviceAddress) {
    let mut poll = tokio::time::interval(link.poll_interval());
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut probe = tokio::time::interval(link.retry_delay());
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = link.shutdown.cancelled() => return,
            request = link.inbox.next() => {
                let Some(request) = request else { return };
                let result = send(&mut link, &address, &request.payload).await;
                let _ = request.done.send(result);
            }
            _ = poll.tick(), if link.poll.is_some() => {
                if let Some(p) = link.poll.clone() {
                    let _ = send(&mut link, &address, &p).await;
                }
            }
            _ = probe.tick(), if link.poll.is_none() && !link.is_online() => {
                let target = address.host_port();
                match timeout(IO_TIMEOUT, TcpStream::connect(&target)).await {
                    Ok(Ok(_)) => link.up(format!("reachable at {target}")),
                    Ok(Err(e)) => link.down(format!("cannot connect to {target}: {e}")),
                    Err(_) => link.down(format!("no answer from {target}")),
                }
            }
        }
    }
}

async fn send(
    link: &mut DeviceLink,
    address: &DeviceAddress,
    payload: &Payload,
) -> Result<(), DeviceError> {
    let Payload::Http { method, path, body } = payload else {
        return Err(DeviceError::Invalid(format!(
            "device {:?} is an http device; use an http step",
            link.device.id
        )));
    };
    let target = address.host_port();
    let uri = format!("{}{}", address.base_path, path);
    let outcome = timeout(IO_TIMEOUT, request(&target, method, &uri, body.clone())).await;
    let result = match outcome {
        Ok(Ok((status, body))) => {
            link.up(format!("last request: {method} {uri} -> {status}"));
            link.lines_of(&body).await;
            if status.is_success() {
                Ok(())
            } else {
                Err(link.failed(format!("{method} {uri} answered {status}")))
            }
        }
        Ok(Err(why)) => {
            link.down(format!("{method} {uri}: {why}"));
            Err(link.failed(why))
        }
        Err(_) => {
            let why = format!("no answer within {} s", IO_TIMEOUT.as_secs());
            link.down(format!("{method} {uri}: {why}"));
            Err(link.failed(why))
        }
    };
    result
}

pub(super) async fn request(
    target: &str,
    method: &str,
    uri: &str,
    body: Option<String>,
) -> Result<(hyper::StatusCode, Bytes), String> {
    let stream = TcpStream::connect(target)
        .await
        .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(connection);
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let has_body = body.is_some();
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(HOST, target)
        .header(CONNECTION, "close");
    if has_body {
        builder = builder.header(CONTENT_TYPE, "text/plain; charset=utf-8");
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| format!("bad request: {e}"))?;
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok((status, body))
    }
    .await;
    driver.abort();
    result
}
