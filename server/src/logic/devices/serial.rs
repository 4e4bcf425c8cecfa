//! A serial device (RS-232/RS-485, usually through a USB adapter): the port
//! is opened with its speed and framing (`serial = "9600 8N1"`) and kept
//! open; when it cannot be opened or fails (an adapter unplugged), it is
//! reopened every `reconnect_secs`. Lines, polls and requests work as over
//! TCP (`stream.rs`). A cable has no connection state of its own, so with a
//! `poll` string the device counts as down after three silent poll
//! intervals, as over TCP; without one it is up while the port is open.

use controller_core::logic::{Parity, SerialLine};
use tokio_serial::{DataBits, FlowControl, SerialPortBuilderExt, SerialStream, StopBits};

use super::{stream, DeviceLink};

pub(super) async fn run(mut link: DeviceLink, line: SerialLine) {
    let settings = describe(&line);
    loop {
        match open(&line) {
            Ok(port) => {
                link.up(format!("{} open at {settings}", line.path));
                let (reader, writer) = tokio::io::split(port);
                let why = stream::session(&mut link, reader, writer).await;
                if link.shutdown.is_cancelled() {
                    return;
                }
                link.down(why);
            }
            Err(e) => link.down(format!("cannot open {} at {settings}: {e}", line.path)),
        }
        if !link.wait_down(link.retry_delay()).await {
            return;
        }
    }
}

/// Opens the port for exclusive use, no flow control.
pub(super) fn open(line: &SerialLine) -> tokio_serial::Result<SerialStream> {
    let data_bits = match line.data_bits {
        5 => DataBits::Five,
        6 => DataBits::Six,
        7 => DataBits::Seven,
        _ => DataBits::Eight,
    };
    let parity = match line.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Even => tokio_serial::Parity::Even,
        Parity::Odd => tokio_serial::Parity::Odd,
    };
    let stop_bits = if line.stop_bits == 2 {
        StopBits::Two
    } else {
        StopBits::One
    };
    tokio_serial::new(&line.path, line.baud)
        .data_bits(data_bits)
        .parity(parity)
        .stop_bits(stop_bits)
        .flow_control(FlowControl::None)
        .open_native_async()
}

/// "9600 8N1", as installers write it.
fn describe(line: &SerialLine) -> String {
    let parity = match line.parity {
        Parity::None => 'N',
        Parity::Even => 'E',
        Parity::Odd => 'O',
    };
    format!("{} {}{parity}{}", line.baud, line.data_bits, line.stop_bits)
}
