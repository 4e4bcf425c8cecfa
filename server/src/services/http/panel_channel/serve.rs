//! One panel's session after its hello: the welcome, the state, then one
//! loop over the panel's messages, the bus (or the fan-out), the keep-alive
//! clock and the shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use controller_core::protocol::panel::{ErrorCode, ServerMessage, PROTOCOL_VERSION};
use futures::SinkExt;
use tokio::sync::broadcast;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::{
    error, refuse, text, LiveState, Reply, Session, CLOSE_REFUSED, CLOSE_TOO_BIG, MAX_WS_MESSAGE,
    PIN_CHANGED,
};
use crate::runtime::woken::PollWhenWoken;
use crate::services::http::fanout::{Attention, Fed};
use crate::state::bus::{BusEvent, Encoding, Subscription};

/// What the loop does after one of its inputs.
enum Flow {
    Go,
    /// Send a fresh snapshot (`asked`: the panel asked for it).
    Resync {
        asked: bool,
    },
    Stop,
}

/// Whether a send went through: the session ends when it did not.
fn sent<E>(result: Result<(), E>) -> Flow {
    match result {
        Ok(()) => Flow::Go,
        Err(_) => Flow::Stop,
    }
}

impl Session {
    pub(super) async fn serve(
        &mut self,
        socket: &mut WebSocket,
        state: &LiveState,
        keepalive: Duration,
        fed: Option<Fed>,
    ) {
        let Some(mut steps) = self.greet(socket, keepalive, fed.as_ref()).await else {
            return;
        };
        let mut ping = interval_at(Instant::now() + keepalive, keepalive);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The task wakes once per step it sends; the keep-alive clock and
        // the shutdown are polled only when their own wakers fire, not on
        // every step (the shutdown's locks are shared by every panel task).
        let mut tick = PollWhenWoken::new(std::future::poll_fn(move |cx| ping.poll_tick(cx)));
        let mut shutdown = PollWhenWoken::new(state.shutdown.clone().cancelled_owned());
        let mut seq = 0u64;
        loop {
            let flow = tokio::select! {
                // In this order: the panel's own messages first (a panel
                // that floods only delays its own steps), then steps.
                biased;
                incoming = socket.recv() => match incoming {
                    Some(Ok(message)) => {
                        self.last_heard = Instant::now();
                        self.on_message(socket, message).await
                    }
                    // Over the frame/message limit (the only read error
                    // after which the socket can still say why).
                    Some(Err(_)) => {
                        let why = format!("a message may be at most {MAX_WS_MESSAGE} bytes");
                        refuse(socket, ErrorCode::TooLarge, why, CLOSE_TOO_BIG).await;
                        Flow::Stop
                    }
                    None => Flow::Stop,
                },
                event = next_event(&mut steps) => match event {
                    Ok(event) => self.on_event(socket, &event).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => Flow::Resync { asked: false },
                    Err(broadcast::error::RecvError::Closed) => Flow::Stop,
                },
                attention = needs_attention(fed.as_ref()) => self.on_attention(socket, attention).await,
                _ = &mut tick => self.on_tick(socket, keepalive, &mut seq).await,
                _ = &mut shutdown => {
                    let _ = socket.send(Message::Close(Some(CloseFrame { code: 1001, reason: "controller stopping".into() }))).await;
                    Flow::Stop
                }
            };
            match flow {
                Flow::Go => {}
                Flow::Stop => return,
                Flow::Resync { asked } => match self.resync(socket, fed.as_ref(), asked).await {
                    Some(rx) => steps = rx,
                    None => return,
                },
            }
        }
    }

    /// The welcome, the state and the notices in force; then the stream of
    /// steps that follows (None: the session is over).
    async fn greet(
        &mut self,
        socket: &mut WebSocket,
        keepalive: Duration,
        fed: Option<&Fed>,
    ) -> Option<Option<Subscription>> {
        let welcome = ServerMessage::Welcome {
            protocol: PROTOCOL_VERSION,
            keepalive_ms: keepalive.as_millis() as u64,
            controller: self.controller.identity().name.clone(),
        };
        socket.send(text(&welcome)).await.ok()?;
        let steps = self.resync(socket, fed, true).await?;
        for notice in super::super::notices::current(&self.controller) {
            socket.send(text(&notice)).await.ok()?;
        }
        Some(steps)
    }

    /// A message from the panel.
    async fn on_message(&mut self, socket: &mut WebSocket, message: Message) -> Flow {
        match message {
            Message::Text(t) => match self.handle(&t) {
                Some(Reply::Send(m)) => sent(socket.send(m).await),
                Some(Reply::Resync) => Flow::Resync { asked: true },
                None => Flow::Go,
            },
            Message::Binary(_) => sent(
                socket
                    .send(error(ErrorCode::Malformed, "messages are JSON text"))
                    .await,
            ),
            Message::Close(_) => Flow::Stop,
            Message::Ping(_) | Message::Pong(_) => Flow::Go,
        }
    }

    /// A bus event, for a panel that reads the bus itself: a notice, or a
    /// step it is sent (a new project's layout or state, a refusal when the
    /// project changed its PIN).
    async fn on_event(&mut self, socket: &mut WebSocket, event: &Arc<BusEvent>) -> Flow {
        let Some(published) = event.step() else {
            if let Some(notice) = super::super::notices::of_event(&self.controller.project(), event)
            {
                return sent(socket.send(text(&notice)).await);
            }
            return Flow::Go;
        };
        if published.step.loads_project() {
            if self.layout.is_some() {
                // The new layout (or the same one's state).
                return Flow::Resync { asked: false };
            }
            if !self.pin_still_good(&self.controller.project()) {
                refuse(socket, ErrorCode::PinRequired, PIN_CHANGED, CLOSE_REFUSED).await;
                return Flow::Stop;
            }
        } else if self.layout.as_deref() == Some("") {
            // Showing "not available": no state to update.
            return Flow::Go;
        }
        if self.sparse && !published.shown {
            return Flow::Go;
        }
        let bytes = published.encoded(Encoding::PanelJson, |step| {
            Bytes::from(ServerMessage::step_bytes(step, published.after))
        });
        let Ok(text) = Utf8Bytes::try_from(bytes) else {
            return Flow::Go;
        };
        sent(socket.send(Message::Text(text)).await)
    }

    /// What the fan-out needs from this panel's task.
    async fn on_attention(&mut self, socket: &mut WebSocket, attention: Attention) -> Flow {
        match attention {
            Attention::Drain => sent(socket.flush().await),
            Attention::Resync => Flow::Resync { asked: false },
            Attention::ProjectLoaded => {
                if !self.pin_still_good(&self.controller.project()) {
                    refuse(socket, ErrorCode::PinRequired, PIN_CHANGED, CLOSE_REFUSED).await;
                    return Flow::Stop;
                }
                // Bytes may be queued behind the step, too.
                sent(socket.flush().await)
            }
            Attention::Failed => Flow::Stop,
        }
    }

    /// The keep-alive clock: a ping, or the end of a silent panel.
    async fn on_tick(
        &mut self,
        socket: &mut WebSocket,
        keepalive: Duration,
        seq: &mut u64,
    ) -> Flow {
        if self.last_heard.elapsed() > keepalive * 3 {
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: 4000,
                    reason: "no keep-alive for three intervals".into(),
                })))
                .await;
            self.controller.log().record(format!(
                "{} dropped: silent for three keep-alive intervals",
                self.held.source()
            ));
            return Flow::Stop;
        }
        *seq += 1;
        sent(socket.send(text(&ServerMessage::Ping { seq: *seq })).await)
    }
}

/// The next bus event, for a panel that reads the bus itself (a TLS panel);
/// never, for one fed by the fan-out.
async fn next_event(
    steps: &mut Option<Subscription>,
) -> Result<Arc<BusEvent>, broadcast::error::RecvError> {
    match steps {
        Some(steps) => steps.recv().await,
        None => std::future::pending().await,
    }
}

/// What the fan-out needs from this panel's task; never, for a TLS panel.
async fn needs_attention(fed: Option<&Fed>) -> Attention {
    match fed {
        Some(fed) => fed.attention().await,
        None => std::future::pending().await,
    }
}
