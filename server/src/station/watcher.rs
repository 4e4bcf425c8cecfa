//! One room's 5009 connection: connect, read `hello`, log in with the
//! station's account, read the layout and devices, subscribe (a snapshot),
//! then follow steps and device events, answer the web's presses, and ping.
//! Lost connections are retried with a doubling backoff, cut short when
//! the room is heard from again (its `retry`, woken by lookup and the
//! broker); each new session
//! resynchronises from the subscribe snapshot, and a gap in revisions
//! resubscribes. Everything read from a controller is bounded (line length,
//! time per line, malformed lines), so a hostile or broken controller costs
//! one reconnecting task, never the station.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use controller_core::engine::StepOutcome;
use controller_core::protocol::central::{Event, Request};
use futures::{FutureExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use super::alerts::AlertKind;
use super::registry::{Claim, RoomCommand};
use super::{unix_now, usage, Station};

/// Time allowed for connecting and for each handshake reply.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for the answer to `login`: a password check is slow on
/// purpose (argon2), and slower on a busy controller.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(20);
/// A ping this often keeps the controller's idle timer (60 s by default)
/// from closing the connection and shows the station that it is alive.
const PING_EVERY: Duration = Duration::from_secs(15);
/// Nothing at all from the controller for this long: the link is dead.
const SILENCE: Duration = Duration::from_secs(45);
/// Malformed lines tolerated in one session.
const MAX_MALFORMED: u32 = 8;
/// Requests awaiting a reply; more and presses are refused as busy.
const MAX_PENDING: usize = 256;

/// Why a session ended.
enum Ended {
    Shutdown,
    /// Another room entry is this controller.
    Duplicate,
    /// Worth retrying; `reached` says whether it got as far as subscribed.
    Lost {
        why: String,
        reached: bool,
    },
}

/// A reply the session is waiting for, in request order.
enum Pending {
    Pong,
    Operate(oneshot::Sender<Result<(), String>>),
    Layout,
    Resubscribe,
}

type Lines = FramedRead<tokio::net::tcp::OwnedReadHalf, LinesCodec>;

pub async fn watch(
    station: Arc<Station>,
    room: usize,
    address: SocketAddr,
    mut commands: mpsc::Receiver<RoomCommand>,
) {
    let first = Duration::from_millis(station.settings.reconnect_first_ms.max(1));
    let mut backoff = first;
    let max_backoff = Duration::from_secs(station.settings.reconnect_max_secs.max(1)).max(first);
    let retry = station
        .registry
        .read(room, |r| r.retry.clone())
        .unwrap_or_default();
    loop {
        let ended = session(&station, room, address, &mut commands, &retry).await;
        let (why, reached) = match ended {
            Ended::Shutdown => return,
            Ended::Duplicate => {
                tracing::info!(
                    "station: {address} is a room already watched; not watching it twice"
                );
                return;
            }
            Ended::Lost { why, reached } => (why, reached),
        };
        let records = station.registry.update(room, |r| {
            if r.card.online {
                r.offline_since = Some(std::time::Instant::now());
            }
            r.card.online = false;
            r.card.problem = why.clone();
            usage::out_of_sight(r, unix_now())
        });
        station.usage.record(records.unwrap_or_default());
        if reached {
            backoff = first;
        }
        let until = tokio::time::Instant::now() + backoff;
        backoff = (backoff * 2).min(max_backoff);
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
) -> Ended {
    let lost = |why: String| Ended::Lost {
        why,
        reached: false,
    };
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(address)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return lost(format!("cannot connect: {e}")),
        Err(_) => return lost("no answer to connect".into()),
    };
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = FramedRead::new(
        read,
        LinesCodec::new_with_max_length(station.settings.max_line_bytes.max(4096)),
    );
    let handshake = tokio::select! {
        _ = station.shutdown.cancelled() => return Ended::Shutdown,
        h = handshake(station, room, &mut lines, &mut write) => h,
    };
    if let Err(ended) = handshake {
        return ended;
    }
    // Online: a wake-up stored while it was connecting is spent, so the
    // next loss waits its backoff.
    let _ = retry.notified().now_or_never();
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut malformed = 0u32;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let reached = |why: String| Ended::Lost { why, reached: true };
    loop {
        tokio::select! {
            _ = station.shutdown.cancelled() => return Ended::Shutdown,
            _ = ping.tick() => {
                if send(&mut write, &Request::Ping { seq: 0 }).await.is_err() {
                    return reached("the connection broke".into());
                }
                pending.push_back(Pending::Pong);
            }
            c = commands.recv() => {
                let Some(RoomCommand::Press { button, release, reply }) = c else {
                    return Ended::Shutdown;
                };
                if pending.len() >= MAX_PENDING {
                    let _ = reply.send(Err("the room is busy; try again".into()));
                    continue;
                }
                let request = if release { Request::Release { button } } else { Request::Press { button } };
                if send(&mut write, &request).await.is_err() {
                    let _ = reply.send(Err("the connection broke".into()));
                    return reached("the connection broke".into());
                }
                pending.push_back(Pending::Operate(reply));
            }
            line = tokio::time::timeout(SILENCE, lines.next()) => {
                let line = match line {
                    Err(_) => return reached(format!("nothing heard for {} s", SILENCE.as_secs())),
                    Ok(None) => return reached("the controller closed the connection".into()),
                    Ok(Some(Err(LinesCodecError::MaxLineLengthExceeded))) => {
                        return protocol_error(station, room, "a line longer than max_line_bytes");
                    }
                    Ok(Some(Err(LinesCodecError::Io(e)))) => return reached(format!("read error: {e}")),
                    Ok(Some(Ok(line))) => line,
                };
                station.registry.touch(room, unix_now());
                let event = match Event::decode(line.as_bytes()) {
                    Ok(e) => e,
                    Err(_) => {
                        malformed += 1;
                        if malformed > MAX_MALFORMED {
                            return protocol_error(station, room, "lines that are not protocol JSON");
                        }
                        continue;
                    }
                };
                match follow(station, room, event, &mut pending, &mut write).await {
                    Ok(()) => {}
                    Err(why) => return reached(why),
                }
            }
        }
    }
}

/// `hello`, login, layout, devices, subscribe. The room is online after it.
async fn handshake(
    station: &Station,
    room: usize,
    lines: &mut Lines,
    write: &mut OwnedWriteHalf,
) -> Result<(), Ended> {
    let lost = |why: String| Ended::Lost {
        why,
        reached: false,
    };
    let (name, serial, login_required) = match next(station, room, lines).await? {
        Event::Hello {
            controller,
            serial,
            login_required,
            ..
        } => (controller, serial, login_required),
        Event::Bye { message, .. } => return Err(lost(format!("refused: {message}"))),
        _ => return Err(protocol_error(station, room, "no hello")),
    };
    match station.registry.claim_serial(room, &serial) {
        Claim::Mine => station.alerts.clear_kind(room, AlertKind::DuplicateSerial),
        Claim::Watched => return Err(Ended::Duplicate),
        Claim::Clone { other } => duplicate_serial(station, room, other, &serial),
    }
    // Its own name from now on (alerts and usage records carry it).
    station
        .registry
        .update(room, |r| r.card.name = name.clone());
    if login_required {
        let (user, password) = (&station.settings.account, &station.password);
        if user.is_empty() {
            station.alerts.raise(
                room,
                AlertKind::LoginFailed,
                "",
                "the room asks for a login and [station] account is not set".into(),
            );
            return Err(lost("login required: set [station] account".into()));
        }
        let login = Request::Login {
            user: user.clone(),
            password: password.clone(),
        };
        send(write, &login).await.map_err(|e| lost(e.to_string()))?;
        match next_within(LOGIN_TIMEOUT, station, room, lines).await? {
            Event::Ok { .. } => {
                station.registry.update(room, |r| r.login_refusals = 0);
                station.alerts.clear(room, AlertKind::LoginFailed, "")
            }
            Event::Error { message, .. } | Event::Bye { message, .. } => {
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
                        format!("the station's account {user:?} was refused: {message}"),
                    );
                }
                return Err(lost(format!("login refused: {message}")));
            }
            _ => {
                return Err(protocol_error(
                    station,
                    room,
                    "an unexpected reply to login",
                ))
            }
        }
    }
    send(write, &Request::Layout)
        .await
        .map_err(|e| lost(e.to_string()))?;
    // A controller older than `layout` answers with an error: no layout.
    let layout = match next(station, room, lines).await? {
        Event::Layout { layout } => Some(Arc::new(layout)),
        Event::Error { .. } => None,
        _ => {
            return Err(protocol_error(
                station,
                room,
                "an unexpected reply to layout",
            ))
        }
    };
    send(write, &Request::Devices)
        .await
        .map_err(|e| lost(e.to_string()))?;
    let devices = match next(station, room, lines).await? {
        Event::Devices { devices } => devices,
        Event::Error { .. } => Vec::new(),
        _ => {
            return Err(protocol_error(
                station,
                room,
                "an unexpected reply to devices",
            ))
        }
    };
    send(write, &Request::Subscribe)
        .await
        .map_err(|e| lost(e.to_string()))?;
    let snapshot = match next(station, room, lines).await? {
        Event::Status { snapshot, .. } => snapshot,
        _ => {
            return Err(protocol_error(
                station,
                room,
                "an unexpected reply to subscribe",
            ))
        }
    };
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
        let records = usage::update(r, &station.settings, None, unix_now());
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
    Ok(())
}

/// Handles one event of a subscribed session.
async fn follow(
    station: &Station,
    room: usize,
    event: Event,
    pending: &mut VecDeque<Pending>,
    write: &mut OwnedWriteHalf,
) -> Result<(), String> {
    match event {
        Event::Step { step } => {
            let outcome = station.registry.update(room, |r| {
                let before = (r.snapshot.project_name.clone(), r.snapshot.project_revision);
                let outcome = r.snapshot.receive(&step);
                let after = (r.snapshot.project_name.clone(), r.snapshot.project_revision);
                r.card.project_name = after.0.clone();
                r.card.project_revision = after.1;
                let records = usage::update(r, &station.settings, Some(&step), unix_now());
                (
                    outcome,
                    (before != after).then(|| {
                        r.known_project = Some(after.clone());
                        (before, after)
                    }),
                    records,
                )
            });
            let outcome = outcome.map(|(outcome, project, records)| {
                station.usage.record(records);
                (outcome, project)
            });
            match outcome {
                Some((StepOutcome::Gap, _)) => {
                    send(write, &Request::Subscribe)
                        .await
                        .map_err(|e| e.to_string())?;
                    pending.push_back(Pending::Resubscribe);
                }
                Some((_, Some((before, after)))) => {
                    project_changed(station, room, &before, &after);
                    send(write, &Request::Layout)
                        .await
                        .map_err(|e| e.to_string())?;
                    pending.push_back(Pending::Layout);
                }
                _ => {}
            }
        }
        Event::Device {
            id,
            kind,
            address,
            online,
        } => {
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
        Event::Bye { message, .. } => return Err(format!("the controller closed: {message}")),
        reply => match pending.pop_front() {
            Some(Pending::Operate(tx)) => {
                let _ = tx.send(match reply {
                    Event::Ok { .. } => Ok(()),
                    Event::Error { message, .. } => Err(message),
                    other => Err(format!("unexpected reply {other:?}")),
                });
            }
            Some(Pending::Layout) => {
                let layout = match reply {
                    Event::Layout { layout } => Some(Arc::new(layout)),
                    _ => None,
                };
                station.registry.update(room, |r| {
                    if let Some(l) = &layout {
                        r.card.location = l.location.clone();
                    }
                    r.layout = layout;
                });
            }
            Some(Pending::Resubscribe) => {
                if let Event::Status { snapshot, .. } = reply {
                    station.registry.update(room, |r| r.snapshot = snapshot);
                }
            }
            Some(Pending::Pong) | None => {}
        },
    }
    Ok(())
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
    Ended::Lost {
        why: format!("protocol error: {what}"),
        reached: false,
    }
}

/// The next handshake reply, within [`HANDSHAKE_TIMEOUT`]. A line that
/// is too long or not protocol JSON is a protocol error (and an alert).
async fn next(station: &Station, room: usize, lines: &mut Lines) -> Result<Event, Ended> {
    next_within(HANDSHAKE_TIMEOUT, station, room, lines).await
}

/// [`next`] within `limit`.
async fn next_within(
    limit: Duration,
    station: &Station,
    room: usize,
    lines: &mut Lines,
) -> Result<Event, Ended> {
    let lost = |why: String| Ended::Lost {
        why,
        reached: false,
    };
    match tokio::time::timeout(limit, lines.next()).await {
        Err(_) => Err(lost("no answer during the handshake".into())),
        Ok(None) => Err(lost("the controller closed the connection".into())),
        Ok(Some(Err(LinesCodecError::MaxLineLengthExceeded))) => Err(protocol_error(
            station,
            room,
            "a line longer than max_line_bytes",
        )),
        Ok(Some(Err(LinesCodecError::Io(e)))) => Err(lost(format!("read error: {e}"))),
        Ok(Some(Ok(line))) => Event::decode(line.as_bytes())
            .map_err(|_| protocol_error(station, room, "a line that is not protocol JSON")),
    }
}

async fn send(write: &mut OwnedWriteHalf, request: &Request) -> std::io::Result<()> {
    write.write_all(&request.encode()).await
}
