//! A TCP device (projector, matrix, DSP): a client connection kept open,
//! re-established every `reconnect_secs` while the device is down. A device
//! with a `poll` string is polled every `poll_secs`; one that stays silent
//! for three poll intervals is treated as down and reconnected.

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_util::codec::FramedRead;

use super::{DeviceLink, IO_TIMEOUT};

pub(super) async fn run(mut link: DeviceLink) {
    loop {
        let target = link.address.host_port();
        let attempt = tokio::select! {
            _ = link.shutdown.cancelled() => return,
            r = timeout(IO_TIMEOUT, TcpStream::connect(&target)) => r,
        };
        match attempt {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                link.up(format!("connected to {target}"));
                let why = session(&mut link, stream).await;
                if link.shutdown.is_cancelled() {
                    return;
                }
                link.down(why);
            }
            Ok(Err(e)) => link.down(format!("cannot connect to {target}: {e}")),
            Err(_) => link.down(format!(
                "no answer from {target} within {} s",
                IO_TIMEOUT.as_secs()
            )),
        }
        if !link.wait_down(link.retry_delay()).await {
            return;
        }
    }
}

/// Serves one connection until it fails; returns why it ended.
async fn session(link: &mut DeviceLink, stream: TcpStream) -> String {
    let (reader, mut writer) = stream.into_split();
    let mut lines = FramedRead::new(reader, link.line_codec());
    let poll_every = link.poll_interval();
    let mut poll = tokio::time::interval(poll_every);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = link.shutdown.cancelled() => return "stopping".into(),
            line = lines.next() => match line {
                Some(Ok(bytes)) => {
                    last_heard = Instant::now();
                    link.line(&bytes).await;
                }
                Some(Err(e)) => return format!("read failed: {e}"),
                None => return "the device closed the connection".into(),
            },
            request = link.requests.recv() => {
                let Some(request) = request else { return "stopping".into() };
                let result = match link.wire_bytes(&request.payload) {
                    Ok(bytes) => write(&mut writer, &bytes).await.map_err(|e| link.failed(e)),
                    Err(e) => Err(e),
                };
                let broken = matches!(result, Err(super::DeviceError::Failed { .. }));
                let why = result.as_ref().err().map(|e| e.to_string());
                let _ = request.done.send(result);
                if broken {
                    return why.unwrap_or_default();
                }
            }
            _ = poll.tick(), if link.poll.is_some() => {
                if last_heard.elapsed() > poll_every * 3 {
                    return format!("silent for {} s (no answer to polls)", last_heard.elapsed().as_secs());
                }
                let bytes = match link.poll.as_ref().map(|p| link.wire_bytes(p)) {
                    Some(Ok(b)) => b,
                    _ => continue,
                };
                if let Err(e) = write(&mut writer, &bytes).await {
                    return e;
                }
            }
        }
    }
}

async fn write(writer: &mut tokio::net::tcp::OwnedWriteHalf, bytes: &[u8]) -> Result<(), String> {
    match timeout(IO_TIMEOUT, writer.write_all(bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("write failed: {e}")),
        Err(_) => Err(format!("write blocked for {} s", IO_TIMEOUT.as_secs())),
    }
}
