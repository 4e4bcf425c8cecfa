//! A TCP device (projector, matrix, DSP): a client connection kept open,
//! re-established every `reconnect_secs` while the device is down. What
//! happens on the connection is shared with serial devices (`stream.rs`).

use controller_core::logic::DeviceAddress;
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{stream, DeviceLink, IO_TIMEOUT};

pub(super) async fn run(mut link: DeviceLink, address: DeviceAddress) {
    let target = address.host_port();
    loop {
        let attempt = tokio::select! {
            _ = link.shutdown.cancelled() => return,
            r = timeout(IO_TIMEOUT, TcpStream::connect(&target)) => r,
        };
        match attempt {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                link.up(format!("connected to {target}"));
                let (reader, writer) = stream.into_split();
                let why = stream::session(&mut link, reader, writer).await;
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
