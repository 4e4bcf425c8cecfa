//! The requests of one central-control connection: each line read is
//! decoded and answered (login, status, subscribe, layout, levels, presses).

use bytes::{Bytes, BytesMut};
use controller_core::protocol::central::{ErrorCode, Event, Request, PROTOCOL_VERSION};
use tokio_util::codec::{Decoder, LinesCodec, LinesCodecError};

use super::{Closing, Session};
use crate::security::auth::{LoginError, Role};
use crate::state::bus::Subscription;

/// Failed logins before the connection is closed.
const MAX_FAILED_LOGINS: u32 = 3;

static OK_PRESS: &[u8] = b"{\"type\":\"ok\",\"request\":\"press\"}\n";
static OK_RELEASE: &[u8] = b"{\"type\":\"ok\",\"request\":\"release\"}\n";

impl Session {
    /// Handles every complete line in `inbuf`.
    pub(super) async fn read_lines(
        &mut self,
        codec: &mut LinesCodec,
        inbuf: &mut BytesMut,
        subscription: &mut Option<Subscription>,
    ) -> Option<Closing> {
        loop {
            match codec.decode(inbuf) {
                Ok(Some(line)) => {
                    if let Some(c) = self.handle(&line, subscription).await {
                        return Some(c);
                    }
                }
                Ok(None) => return None,
                Err(LinesCodecError::MaxLineLengthExceeded) => self.error(
                    ErrorCode::TooLarge,
                    format!(
                        "a line may be at most {} bytes; it was discarded",
                        codec.max_length()
                    ),
                ),
                Err(LinesCodecError::Io(_)) => {
                    self.error(ErrorCode::Malformed, "a line must be UTF-8 JSON")
                }
            }
        }
    }

    pub(super) fn role(&self) -> Option<Role> {
        match &self.user {
            Some(u) => Some(u.role),
            None if !self.settings.require_login => Some(Role::Operator),
            None => None,
        }
    }

    async fn handle(
        &mut self,
        line: &str,
        subscription: &mut Option<Subscription>,
    ) -> Option<Closing> {
        let request =
            match Request::decode(line.as_bytes(), self.settings.max_message_bytes.max(64)) {
                Ok(r) => r,
                Err(e) => {
                    self.error(e.code(), e.to_string());
                    return None;
                }
            };
        match request {
            Request::Hello { protocol, .. } => {
                if protocol == PROTOCOL_VERSION {
                    self.ok("hello", None);
                } else {
                    self.error(
                        ErrorCode::UnsupportedVersion,
                        format!("this controller speaks protocol version {PROTOCOL_VERSION}"),
                    );
                }
            }
            Request::Ping { seq } => self.push_event(&Event::Pong { seq }),
            Request::Login { user, password } => return self.login(user, password).await,
            _ if self.role().is_none() => self.error(
                ErrorCode::LoginRequired,
                "log in first: {\"type\":\"login\",\"user\":...,\"password\":...}",
            ),
            Request::Status => {
                let snapshot = self.controller.snapshot();
                self.push_event(&Event::Status {
                    subscribed: false,
                    snapshot,
                });
            }
            Request::Subscribe => {
                let (snapshot, bus) = self.controller.subscribe();
                *subscription = Some(bus);
                self.push_event(&Event::Status {
                    subscribed: true,
                    snapshot,
                });
            }
            Request::Layout => {
                let layout = super::super::room_layout(&self.controller, self.role());
                self.push_event(&Event::Layout { layout });
            }
            Request::Devices => {
                let devices = self.controller.status().devices();
                self.push_event(&Event::Devices { devices });
            }
            Request::Unsubscribe => {
                *subscription = None;
                self.ok("unsubscribe", None);
            }
            Request::SetLevel {
                level,
                value,
                muted,
            } => self.set_level(&level, value, muted),
            Request::Press { button } => self.operate(button, true),
            Request::Release { button } => self.operate(button, false),
        }
        None
    }

    fn ok(&mut self, request: &str, detail: Option<String>) {
        self.push_event(&Event::Ok {
            request: request.into(),
            detail,
        });
    }

    async fn login(&mut self, user: String, password: String) -> Option<Closing> {
        let verified = self
            .controller
            .verify_login("central", self.peer.ip(), user, password)
            .await;
        match verified {
            Ok(u) => {
                self.controller.log().record(format!(
                    "central: {} logged in from {} ({})",
                    u.name,
                    self.peer.ip(),
                    u.role
                ));
                self.held
                    .set_source(format!("central:{}@{}", u.name, self.peer.ip()));
                self.ok("login", Some(u.role.to_string()));
                self.user = Some(u);
                None
            }
            Err(LoginError::Busy) => {
                // Nothing was checked: not a failed login.
                self.error(ErrorCode::Busy, LoginError::Busy.to_string());
                None
            }
            Err(why) => {
                self.failed_logins += 1;
                self.controller.log().record(format!(
                    "central: failed login from {}: {why}",
                    self.peer.ip()
                ));
                if self.failed_logins >= MAX_FAILED_LOGINS {
                    return Some((
                        ErrorCode::WrongCredentials,
                        format!("{MAX_FAILED_LOGINS} failed logins"),
                    ));
                }
                self.error(ErrorCode::WrongCredentials, why.to_string());
                None
            }
        }
    }

    fn set_level(&mut self, level: &str, value: Option<f64>, muted: Option<bool>) {
        if self.role() < Some(Role::Operator) {
            return self.error(
                ErrorCode::Forbidden,
                "moving levels needs the operator role",
            );
        }
        let source = self.held.source().to_string();
        match crate::state::level_request::set_by_user(
            &self.controller,
            level,
            value,
            muted,
            &source,
        ) {
            Ok(()) => self.ok("set_level", None),
            Err(why) => self.error(ErrorCode::UnknownLevel, why),
        }
    }

    fn operate(&mut self, button: String, press: bool) {
        if self.role() < Some(Role::Operator) {
            return self.error(
                ErrorCode::Forbidden,
                "pressing buttons needs the operator role",
            );
        }
        let (result, ok) = if press {
            (self.held.press(&button), OK_PRESS)
        } else {
            (self.held.release(&button), OK_RELEASE)
        };
        match result {
            Ok(()) => self.queue.push_back(Bytes::from_static(ok)),
            Err(e) => self.error(ErrorCode::UnknownButton, e.to_string()),
        }
    }
}
