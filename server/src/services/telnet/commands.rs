//! The console's commands. Each takes the words of a line and returns the
//! text to show; `passwd` and `quit` need the session (prompts, closing),
//! so they come back as [`Reply::Passwd`] and [`Reply::Quit`].

use std::fmt::Write as _;
use std::sync::Arc;

use controller_core::engine::Command;
use controller_core::view::ServiceState;

use crate::security::auth::{Role, User};
use crate::state::controller::Controller;
use crate::storage::project_store::{Change, ProjectStore, PENDING};

pub enum Reply {
    Text(String),
    Passwd,
    Quit,
}

/// One logged-in console session.
pub struct Console {
    pub controller: Controller,
    pub store: Arc<ProjectStore>,
    pub user: User,
    /// `telnet:user@address`, for the log and the engine's sources.
    pub source: String,
}

const HELP: &str = "\
Commands:
  help                        this list
  status                      controller, project, uptime, counts
  services                    every service and its state
  network                     the open ports and what each is for
  panels                      connected panels
  devices                     devices and whether they are online
  leds [BUTTON]               LED and latch state of the buttons
  press BUTTON                press a button (operator)
  release BUTTON              release a button (operator)
  project info                the running, stored, previous and uploaded projects
  project validate            check the uploaded project (errors with line and field)
  project apply               run the uploaded project (admin)
  project rollback            go back to the previous project (admin)
  project history             every applied project: id, when, who, how
  project diff A B            compare two versions (history ids, running, pending)
  project restore N           make history entry N the uploaded project (admin)
  log [N]                     the last N events (default 20)
  audit [N]                   the last N audit entries: logins, uploads, applies,
                              user and settings changes, presses (operator)
  passwd                      change your password
  quit                        close the console
";

const PROJECT_USAGE: &str =
    "usage: project info|validate|apply|rollback|history|diff A B|restore N\n";

impl Console {
    pub async fn execute(&self, line: &str) -> Reply {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&cmd, args)) = words.split_first() else {
            return Reply::Text(String::new());
        };
        let text = match (cmd.to_ascii_lowercase().as_str(), args) {
            ("help" | "?", _) => HELP.to_string(),
            ("quit" | "exit" | "logout", []) => return Reply::Quit,
            ("passwd", []) => return Reply::Passwd,
            ("status", []) => self.status(),
            ("services", []) => self.services(),
            ("network", []) => self.network(),
            ("panels", []) => self.panels(),
            ("devices", []) => self.devices(),
            ("leds", []) => self.leds(None),
            ("leds", [b]) => self.leds(Some(b)),
            ("press", [b]) => self.button(b, true),
            ("release", [b]) => self.button(b, false),
            ("press" | "release", _) => {
                format!("usage: {cmd} BUTTON (see `leds` for the button ids)\n")
            }
            ("project", [sub]) => self.project(sub).await,
            ("project", ["diff", a, b]) => self.diff(a, b).await,
            ("project", ["restore", n]) => self.restore(n).await,
            ("project", _) => PROJECT_USAGE.into(),
            ("log", []) => self.log("20"),
            ("log", [n]) => self.log(n),
            ("audit", []) => self.audit("20"),
            ("audit", [n]) => self.audit(n),
            (
                "quit" | "exit" | "logout" | "passwd" | "status" | "services" | "network"
                | "panels" | "devices" | "log" | "leds" | "audit",
                _,
            ) => format!("{cmd}: too many arguments; type `help`\n"),
            _ => format!("unknown command {cmd:?}; type `help` for the list\n"),
        };
        Reply::Text(text)
    }

    fn status(&self) -> String {
        let c = &self.controller;
        let id = c.identity();
        let p = c.project();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "controller  {} ({} {}, serial {})",
            id.name, id.model, id.firmware, id.serial
        );
        let _ = writeln!(
            s,
            "project     \"{}\" revision {}",
            p.project.name, p.project.revision
        );
        let _ = writeln!(s, "engine      revision {}", c.revision());
        let _ = writeln!(s, "uptime      {} s", c.uptime_secs());
        let _ = writeln!(s, "panels      {} connected", c.status().panels().len());
        let devices = c.status().devices();
        let online = devices.iter().filter(|d| d.online).count();
        let _ = writeln!(s, "devices     {online} of {} online", devices.len());
        let _ = writeln!(s, "you         {} ({})", self.user.name, self.user.role);
        s
    }

    fn services(&self) -> String {
        let mut s = String::new();
        for svc in self.controller.status().services() {
            let _ = writeln!(
                s,
                "{:<10} {:<12} {}",
                svc.name,
                svc.state.to_string(),
                svc.endpoint
            );
        }
        s
    }

    fn network(&self) -> String {
        let mut s = String::from("Open ports (from the running services):\n");
        let services = self.controller.status().services();
        for svc in services
            .iter()
            .filter(|svc| svc.state == ServiceState::Listening)
        {
            let _ = writeln!(s, "  {:<40} {:<9} {}", svc.endpoint, svc.name, svc.purpose);
        }
        // Services without a port (room logic, auto-repeat) are not "not listening".
        let off: Vec<String> = services
            .iter()
            .filter(|svc| !matches!(svc.state, ServiceState::Listening | ServiceState::Running))
            .map(|svc| format!("{} ({})", svc.name, svc.state))
            .collect();
        if !off.is_empty() {
            let _ = writeln!(s, "Not listening: {}", off.join(", "));
        }
        s
    }

    fn panels(&self) -> String {
        let panels = self.controller.status().panels();
        if panels.is_empty() {
            return "no panels connected\n".into();
        }
        let mut s = String::new();
        for p in panels {
            let _ = writeln!(
                s,
                "#{:<4} {:<22} port {:<5} {:<12} {}",
                p.id, p.address, p.port, p.panel, p.user_agent
            );
        }
        s
    }

    fn devices(&self) -> String {
        let devices = self.controller.status().devices();
        if devices.is_empty() {
            return "no devices\n".into();
        }
        let mut s = String::new();
        for d in devices {
            let _ = writeln!(
                s,
                "{:<20} {:<10} {:<22} {:<8} {}",
                d.id,
                d.description(),
                d.address,
                if d.online { "online" } else { "OFFLINE" },
                d.detail
            );
        }
        s
    }

    fn leds(&self, only: Option<&str>) -> String {
        let snap = self.controller.snapshot();
        let mut s = String::new();
        for (id, b) in &snap.buttons {
            if only.is_some_and(|o| o != id) {
                continue;
            }
            let _ = writeln!(
                s,
                "{id:<24} led {:<14} {}{}",
                format!("{} {}", b.led.mode.as_str(), b.led.color.as_str()),
                if b.latched { "latched " } else { "" },
                if b.held { "held" } else { "" }
            );
        }
        if s.is_empty() {
            return match only {
                Some(b) => format!("there is no button {b:?}; `leds` lists them\n"),
                None => "the project has no buttons\n".into(),
            };
        }
        s
    }

    fn button(&self, id: &str, press: bool) -> String {
        if self.user.role < Role::Operator {
            return "pressing buttons needs the operator role\n".into();
        }
        let source = self.source.clone();
        let command = if press {
            Command::Press {
                button: id.into(),
                source,
            }
        } else {
            Command::Release {
                button: id.into(),
                source,
            }
        };
        match self.controller.execute(command) {
            Ok(Some(p)) => format!("ok (revision {})\n", p.step.revision),
            Ok(None) => "ok (no change)\n".into(),
            Err(e) => format!("{e}; `leds` lists the buttons\n"),
        }
    }

    fn log(&self, n: &str) -> String {
        let Ok(n) = n.parse::<usize>() else {
            return "usage: log [N] (N = number of events)\n".into();
        };
        let mut s = String::new();
        for line in self.controller.log().recent(n.min(500)) {
            let _ = writeln!(s, "{line}");
        }
        s
    }

    /// The audit trail names users and addresses: operators and admins
    /// only, as on the status page.
    fn audit(&self, n: &str) -> String {
        if self.user.role < Role::Operator {
            return "the audit trail needs the operator role\n".into();
        }
        let Ok(n) = n.parse::<usize>() else {
            return "usage: audit [N] (N = number of entries)\n".into();
        };
        let audit = self.controller.audit();
        if !audit.enabled() {
            return "the audit trail is off ([audit] enabled = false)\n".into();
        }
        let report = audit.report(n.min(crate::audit::TAIL));
        let mut s = String::new();
        for entry in &report.entries {
            let _ = writeln!(s, "{}", entry.describe());
        }
        let _ = writeln!(
            s,
            "-- {} shown; file: {}; syslog: {}; dropped: {}; not forwarded: {}",
            report.entries.len(),
            if !report.problem.is_empty() {
                format!("NOT WRITTEN: {}", report.problem)
            } else if report.file.is_empty() {
                "none (memory only)".to_string()
            } else {
                report.file.clone()
            },
            if report.syslog.is_empty() {
                "off"
            } else {
                &report.syslog
            },
            report.dropped,
            report.syslog_failed
        );
        s
    }

    async fn project(&self, sub: &str) -> String {
        match sub {
            "info" => self.project_info(),
            "validate" => {
                let store = self.store.clone();
                let result = tokio::task::spawn_blocking(move || {
                    let text = store.read(PENDING)?;
                    match text {
                        None => Ok(None),
                        Some(t) => store.validate(t.as_bytes()).map(Some),
                    }
                })
                .await;
                match result {
                    Ok(Ok(Some(p))) => format!(
                        "the uploaded project \"{}\" (revision {}) is valid: {} buttons, {} panels; `project apply` runs it\n",
                        p.project.name,
                        p.project.revision,
                        p.buttons.len(),
                        p.panels.len()
                    ),
                    Ok(Ok(None)) => "there is no uploaded project; upload one by FTP (any name ending .toml) or on the admin page\n".into(),
                    Ok(Err(e)) => format!("{e}\n"),
                    Err(e) => format!("validation failed: {e}\n"),
                }
            }
            "apply" | "rollback" => {
                if self.user.role < Role::Admin {
                    return format!("project {sub} needs the admin role\n");
                }
                let change = if sub == "apply" {
                    Change::Apply
                } else {
                    Change::Rollback
                };
                let result = self
                    .store
                    .clone()
                    .change(self.controller.clone(), change, self.source.clone())
                    .await;
                match result {
                    Ok(p) => format!(
                        "now running \"{}\" revision {} (panels reload their layout)\n",
                        p.project.name, p.project.revision
                    ),
                    Err(e) => format!("not done, the running project is unchanged: {e}\n"),
                }
            }
            "history" => self.history(),
            other => format!("unknown project command {other:?}; {PROJECT_USAGE}"),
        }
    }

    fn project_info(&self) -> String {
        let info = self.store.info(&self.controller);
        format!(
            "{}directory   {}\n",
            info.lines(
                [
                    "running",
                    "active.toml",
                    "previous",
                    "uploaded",
                    "auto apply"
                ],
                11
            ),
            self.store.dir().display()
        )
    }

    fn history(&self) -> String {
        let entries = self.store.history_list();
        if entries.is_empty() {
            return "no project has been applied yet\n".into();
        }
        let mut s = String::new();
        for e in entries {
            let when = chrono::DateTime::from_timestamp(e.time as i64, 0).map_or_else(
                || e.time.to_string(),
                |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            );
            let _ = writeln!(
                s,
                "#{:<4} {when}  {:<8} {:<9} {:<10} \"{}\" revision {}",
                e.id, e.action, e.via, e.user, e.name, e.revision
            );
        }
        s
    }

    async fn diff(&self, a: &str, b: &str) -> String {
        let (store, controller) = (self.store.clone(), self.controller.clone());
        let (a, b) = (a.to_string(), b.to_string());
        // Secrets (panel PINs) only to admins.
        let admin = self.user.role >= Role::Admin;
        let result = tokio::task::spawn_blocking(move || {
            if admin {
                store.diff(&controller, &a, &b)
            } else {
                store.diff_without_secrets(&controller, &a, &b)
            }
        })
        .await;
        match result {
            Ok(Ok(d)) => {
                let mut s = String::new();
                if d.changes.is_empty() {
                    s.push_str("no changes in meaning\n");
                }
                for c in &d.changes {
                    let _ = writeln!(s, "* {c}");
                }
                s.push_str(&d.unified);
                s
            }
            Ok(Err(e)) => format!("{e}\n"),
            Err(e) => format!("diff failed: {e}\n"),
        }
    }

    async fn restore(&self, n: &str) -> String {
        if self.user.role < Role::Admin {
            return "project restore needs the admin role\n".into();
        }
        let (store, controller) = (self.store.clone(), self.controller.clone());
        let (n, by) = (n.trim_start_matches('#').to_string(), self.source.clone());
        let result = tokio::task::spawn_blocking(move || store.restore(&controller, &n, &by)).await;
        match result {
            Ok(Ok(p)) => format!(
                "\"{}\" revision {} is now the uploaded project; `project diff running pending` compares, `project apply` runs it\n",
                p.project.name, p.project.revision
            ),
            Ok(Err(e)) => format!("not restored: {e}\n"),
            Err(e) => format!("restore failed: {e}\n"),
        }
    }
}
