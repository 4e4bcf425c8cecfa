//! Webhooks: each alert change is POSTed as JSON to the URLs whose rule
//! names its kind. Plain HTTP/1.1 over one short connection, bounded in
//! time; a receiver that is down costs a log line, never the station.

use std::time::Duration;

use anyhow::{bail, Context};
use controller_core::fleet::AlertRecord;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Webhook;

const TIMEOUT: Duration = Duration::from_secs(5);

/// What a webhook receives.
#[derive(Debug, Serialize)]
pub struct Notice<'a> {
    /// `raised`, `acknowledged` or `cleared`.
    pub event: &'a str,
    pub alert: &'a AlertRecord,
}

/// Sends `notice` to every webhook whose rule covers its kind, each in its
/// own task.
pub fn notify(hooks: &[Webhook], notice: &Notice<'_>) {
    let Ok(body) = serde_json::to_vec(notice) else {
        return;
    };
    for hook in hooks {
        if !hook.kinds.is_empty() && !hook.kinds.contains(&notice.alert.kind) {
            continue;
        }
        let url = hook.url.clone();
        let body = body.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(TIMEOUT, post(&url, &body)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("station: webhook {url}: {e:#}"),
                Err(_) => tracing::warn!("station: webhook {url}: no answer within {TIMEOUT:?}"),
            }
        });
    }
}

/// POSTs `body` to an `http://host[:port]/path` URL; an error unless the
/// receiver answers 2xx.
pub async fn post(url: &str, body: &[u8]) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("http://")
        .context("only http:// webhook URLs are supported")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let target = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&target)
        .await
        .with_context(|| format!("cannot connect to {target}"))?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: roomctl-station\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut answer = [0u8; 64];
    let n = stream.read(&mut answer).await?;
    let status = std::str::from_utf8(&answer[..n])
        .ok()
        .and_then(|s| s.split(' ').nth(1))
        .unwrap_or("");
    if !status.starts_with('2') {
        bail!("the receiver answered {status:?}");
    }
    Ok(())
}
