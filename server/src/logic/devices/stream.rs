//! A byte stream to a device, line by line: shared by TCP and serial
//! devices. A device with a `poll` string is polled every `poll_secs`; one
//! that stays silent for three poll intervals is treated as down (the
//! caller reconnects or reopens the port).

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tokio_util::codec::FramedRead;

use super::{DeviceLink, IO_TIMEOUT};

/// Serves one connection until it fails; returns why it ended.
pub(super) async fn session<R, W>(link: &mut DeviceLink, reader: R, mut writer: W) -> String
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
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
            request = link.inbox.next() => {
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

async fn write<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> Result<(), String> {
    match timeout(IO_TIMEOUT, writer.write_all(bytes)).await {
        Ok(Ok(())) => writer
            .flush()
            .await
            .map_err(|e| format!("write failed: {e}")),
        Ok(Err(e)) => Err(format!("write failed: {e}")),
        Err(_) => Err(format!("write blocked for {} s", IO_TIMEOUT.as_secs())),
    }
}
