//! One room's 5009 connection, the glue around
//! [`controller_core::central_client`] (which decides what to say, which
//! reply answers what, when a line is late, when to ping, when to resync
//! and how long to back off): connect, then feed it every line and tick,
//! write what it sends, and put what it learns into the registry, the
//! alerts and the usage records. The station's account logs in; the
//! room's layout, devices and snapshot make it online; steps and device
//! events follow, with the web's presses. Lost connections are retried
//! with the link's doubling backoff, cut short when the room is heard from
//! again (its `retry`, woken by lookup and the broker). Everything read
//! from a controller is bounded (line length, time per line, malformed
//! lines), so a hostile or broken controller costs one reconnecting task,
//! never the station.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use controller_core::central_client::{CentralLink, End, Hello, Login, Output, Plan, Watched};
use controller_core::protocol::central::{Event, Request};
use futures::{FutureExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use super::alerts::AlertKind;
use super::registry::{Claim, RoomCommand};
use super::{unix_now, Station};

/// Time allowed for connecting.
const CONNECT_TIMEOUT: Duration =
    Duration::from_millis(controller_core::central_client::HANDSHAKE_TIMEOUT_MS);

/// Why a session ended.
enum Ended {
    Shutdown,
    /// Another room entry is this controller.
    Duplicate,
    /// Worth retrying.
    Lost(String),
}

/// A press's reply channel: the link's tag for the web's requests.
type Reply = oneshot::Sender<Result<(), String>>;
type Link = CentralLink<Reply>;

/// Milliseconds since `epoch`: the link's clock.
fn millis(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

pub async fn watch(
    station: Arc<Station>,
    room: usize,
    address: SocketAddr,
    mut commands: mpsc::Receiver<RoomCommand>,
) {
    let s = &station.settings;
    let login = (!s.account.is_empty()).then(|| Login {
        user: s.account.clone(),
        password: station.password.clone(),
    });
    let mut link: Link = CentralLink::new(
        login,
        Plan::Watch,
        s.reconnect_first_ms.max(1),
        s.reconnect_max_secs.max(1).saturating_mul(1000),
    );
    let retry = station
        .registry
        .read(room, |r| r.retry.clone())
        .unwrap_or_default();
    loop {
        let why = match session(&station, room, address, &mut commands, &retry, &mut link).await {
            Ended::Shutdown => return,
            Ended::Duplicate => {
                tracing::info!(
                    "station: {address} is a room already watched; not watching it twice"
                );
                return;
            }
            Ended::Lost(why) => why,
        };
        let records = station.registry.update(room, |r| {
            if r.card.online {
                r.offline_since = Some(std::time::Instant::now());
            }
            r.card.online = false;
            r.card.problem = why.clone();
            r.out_of_sight(unix_now())
        });
        station.usage.record(records.unwrap_or_default());
        let until = Instant::now() + Duration::from_millis(link.backoff());
        // While waiting, presses are refused at once rather than queued.
        loop {
            tokio::select! {
                _ = station.shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(until) => break,
                _ = retry.notified() => {
                    tracing::info!("station: {address} was heard from again; reconnecting now");
                    break;
                }
                c = commands.recv() => match c {
                    Some(RoomCommand::Press { reply, .. }) => {
                        let _ = reply.send(Err(format!("the room is offline: {why}")));
                    }
                    None => return,
                },
            }
        }
    }
}

async fn session(
    station: &Station,
    room: usize,
    address: SocketAddr,
    commands: &mut mpsc::Receiver<RoomCommand>,
    retry: &tokio::sync::Notify,
    link: &mut Link,
) -> Ended {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Ended::Lost(format!("cannot connect: {e}")),
        Err(_) => return Ended::Lost("no answer to connect".into()),
    };
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = FramedRead::new(
        read,
        LinesCodec::new_with_max_length(station.settings.max_line_bytes.max(4096)),
    );
    let epoch = Instant::now();
    link.connected(millis(epoch));
    let mut hello = None;
    loop {
        let deadline = link
            .next_deadline()
            .map(|d| epoch + Duration::from_millis(d))
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let outputs = tokio::select! {
            _ = station.shutdown.cancelled() => return Ended::Shutdown,
            _ = tokio::time::sleep_until(deadline) => link.tick(millis(epoch)),
            c = commands.recv(), if link.is_live() => {
                let Some(RoomCommand::Press { button, release, reply }) = c else {
                    return Ended::Shutdown;
                };
                let request = if release { Request::Release { button } } else { Request::Press { button } };
                match link.request(request, reply) {
                    Ok(send) => vec![send],
                    Err((reply, why)) => {
                        let _ = reply.send(Err(why));
                        continue;
                    }
                }
            }
            line = lines.next() => match line {
                None => link.closed("the controller closed the connection"),
                Some(Err(LinesCodecError::MaxLineLengthExceeded)) => link.too_long(),
                Some(Err(LinesCodecError::Io(e))) => link.closed(&format!("read error: {e}")),
                Some(Ok(line)) => {
                    if link.is_live() {
                        station.registry.touch(room, unix_now());
                    }
                    link.line(millis(epoch), line.as_bytes())
                }
            },
        };
        let mut queue = VecDeque::from(outputs);
        while let Some(output) = queue.pop_front() {
            match output {
                Output::Send(request) => {
                    if write.write_all(&request.encode()).await.is_err() {
                        queue.extend(link.closed("the connection broke"));
                    }
                }
                Output::Hello(h) => {
                    if !claim(station, room, &h) {
                        link.end(End::Lost("a room already watched".into()));
                        return Ended::Duplicate;
                    }
                    hello = Some(h);
                }
                Output::LoggedIn => {
                    station.registry.update(room, |r| r.login_refusals = 0);
                    station.alerts.clear(room, AlertKind::LoginFailed, "");
                }
                Output::Ready(watched) => {
                    let name = hello.as_ref().map(|h| h.controller.clone());
                    if let Some(w) = watched {
                        online(station, room, name.unwrap_or_default(), *w);
                    }
                    // Online: a wake-up stored while it was connecting is
                    // spent, so the next loss waits its backoff.
                    let _ = retry.notified().now_or_never();
                }
                Output::Step(step, _) => {
                    let records = station.registry.update(room, |r| {
                        r.snapshot.receive(&step);
                        r.card.project_name = r.snapshot.project_name.clone();
                        r.card.project_revision = r.snapshot.project_revision;
                        r.update_usage(&station.settings, Some(&step), unix_now())
                    });
                    station.usage.record(records.unwrap_or_default());
                }
                Output::ProjectChanged { before, after } => {
                    station
                        .registry
                        .update(room, |r| r.known_project = Some(after.clone()));
                    project_changed(station, room, &before, &after);
                }
                Output::Layout(layout) => {
                    let layout = layout.map(Arc::new);
                    station.registry.update(room, |r| {
                        if let Some(l) = &layout {
                            r.card.location = l.location.clone();
                        }
                        r.layout = layout;
                    });
                }
                Output::Resynced(snapshot) => {
                    station.registry.update(room, |r| r.snapshot = snapshot);
                }
                Output::Device {
                    id,
                    kind,
                    address,
                    online,
                } => device(station, room, id, kind, address, online),
                Output::Reply(reply, answer) => {
                    let _ = reply.send(match answer {
                        Ok(Event::Ok { .. }) => Ok(()),
                        Ok(other) => Err(format!("unexpected reply {other:?}")),
                        Err(refusal) => Err(refusal.message),
                    });
                }
                Output::Event(_) => {}
                Output::Ended(end) => return ended(station, room, end, hello.is_some()),
            }
        }
    }
}

/// The room's serial is claimed for this entry (false: another entry
/// watches this controller); its own name from now on (alerts and usage
/// records carry it).
fn claim(station: &Station, room: usize, hello: &Hello) -> bool {
    match station.registry.claim_serial(room, &hello.serial) {
        Claim::Mine => station.alerts.clear_kind(room, AlertKind::DuplicateSerial),
        Claim::Watched => return false,
        Claim::Clone { other } => duplicate_serial(station, room, other, &hello.serial),
    }
    station
        .registry
        .update(room, |r| r.card.name = hello.controller.clone());
    true
}

/// The handshake is over: the room is online with what it said.
fn online(station: &Station, room: usize, name: String, watched: Watched) {
    let Watched {
        layout,
        devices,
        snapshot,
    } = watched;
    let layout = layout.map(Arc::new);
    for d in &devices {
        device_alert(station, room, &d.id, d.online);
    }
    let project = (snapshot.project_name.clone(), snapshot.project_revision);
    let changed = station.registry.update(room, |r| {
        r.card.online = true;
        r.card.problem.clear();
        r.card.name = name;
        r.card.last_seen = unix_now();
        r.card.project_name = project.0.clone();
        r.card.project_revision = project.1;
        if let Some(l) = &layout {
            r.card.location = l.location.clone();
        }
        r.offline_since = None;
        r.layout = layout;
        r.devices = devices;
        r.snapshot = snapshot;
        let records = r.update_usage(&station.settings, None, unix_now());
        let before = r.known_project.replace(project.clone());
        (before.filter(|b| *b != project), records)
    });
    let (changed, records) = changed.unzip();
    station.usage.record(records.unwrap_or_default());
    station.alerts.clear(room, AlertKind::Offline, "");
    station.alerts.clear(room, AlertKind::ProtocolError, "");
    if let Some(Some(before)) = changed {
        project_changed(station, room, &before, &project);
    }
}

/// A device went online or offline.
fn device(station: &Station, room: usize, id: String, kind: String, address: String, online: bool) {
    device_alert(station, room, &id, online);
    station
        .registry
        .update(room, |r| match r.devices.iter_mut().find(|d| d.id == id) {
            Some(d) => d.online = online,
            None => r.devices.push(controller_core::view::DeviceStatus {
                id,
                kind,
                address,
                online,
                ..Default::default()
            }),
        });
}

/// The alerts a session's end raises, and why the room is offline.
/// `greeted`: the controller said hello in this session.
fn ended(station: &Station, room: usize, end: End, greeted: bool) -> Ended {
    match end {
        End::Lost(why) => Ended::Lost(why),
        End::Bye(r) if !greeted => Ended::Lost(format!("refused: {}", r.message)),
        End::Bye(r) => Ended::Lost(format!("the controller closed: {}", r.message)),
        End::LoginNeeded => {
            station.alerts.raise(
                room,
                AlertKind::LoginFailed,
                "",
                "the room asks for a login and [station] account is not set".into(),
            );
            Ended::Lost("login required: set [station] account".into())
        }
        End::LoginRefused(r) => {
            // A controller busy checking other logins refuses with the
            // same code as for a wrong password: alert on the second
            // refusal in a row, not the first.
            let refusals = station.registry.update(room, |r| {
                r.login_refusals += 1;
                r.login_refusals
            });
            if refusals.unwrap_or(0) >= 2 {
                station.alerts.raise(
                    room,
                    AlertKind::LoginFailed,
                    "",
                    format!(
                        "the station's account {:?} was refused: {}",
                        station.settings.account, r.message
                    ),
                );
            }
            Ended::Lost(format!("login refused: {}", r.message))
        }
        End::ProtocolError(what) => protocol_error(station, room, &what),
    }
}

pub(super) fn device_alert(station: &Station, room: usize, id: &str, online: bool) {
    if online {
        station.alerts.clear(room, AlertKind::DeviceOffline, id);
    } else {
        station.alerts.raise(
            room,
            AlertKind::DeviceOffline,
            id,
            format!("device {id} is offline"),
        );
    }
}

/// Two rooms at different addresses answer with one serial: an alert in
/// each, naming both addresses and what to do.
fn duplicate_serial(station: &Station, room: usize, other: usize, serial: &str) {
    let address = |i| {
        station
            .registry
            .read(i, |r| r.card.address.clone())
            .unwrap_or_default()
    };
    let (here, there) = (address(room), address(other));
    tracing::warn!("station: {here} and {there} both answer with serial {serial}");
    for (i, a, b) in [(room, &here, &there), (other, &there, &here)] {
        station.alerts.raise(
            i,
            AlertKind::DuplicateSerial,
            serial,
            format!(
                "the controller at {a} and another at {b} both answer with serial {serial} \
                 (a cloned installation?): delete the installation-id file beside the other's \
                 project folder and restart it, so it makes its own"
            ),
        );
    }
}

pub(super) fn project_changed(
    station: &Station,
    room: usize,
    before: &(String, u32),
    after: &(String, u32),
) {
    station.alerts.raise(
        room,
        AlertKind::ProjectChanged,
        "",
        format!(
            "project \"{}\" rev {} replaced by \"{}\" rev {}",
            before.0, before.1, after.0, after.1
        ),
    );
}

fn protocol_error(station: &Station, room: usize, what: &str) -> Ended {
    station.alerts.raise(
        room,
        AlertKind::ProtocolError,
        "",
        format!("the controller sent {what}; disconnected"),
    );
    Ended::Lost(format!("protocol error: {what}"))
}
