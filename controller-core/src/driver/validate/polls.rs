//! What a driver sends by itself: its polls, the commands sent on
//! connecting, and how long a quiet device stays up (liveness).

use super::*;

impl Check<'_, '_> {
    pub(super) fn polls(&mut self, specs: &[PollSpec], commands: &[Command]) -> Vec<Poll> {
        let mut polls = Vec::new();
        for (i, p) in specs.iter().enumerate() {
            let path = vec![key("polls"), Seg::Index(i)];
            if p.every_secs == 0 {
                let mut q = path.clone();
                q.push(key("every_secs"));
                self.err(&q, "a poll's interval is at least 1 second");
            }
            if let Some(params) = self.call(&path, &p.command, &p.params, commands) {
                polls.push(Poll {
                    command: p.command.clone(),
                    params,
                    every_secs: p.every_secs,
                });
            }
        }
        polls
    }

    pub(super) fn on_connect(
        &mut self,
        specs: &[CommandCallSpec],
        commands: &[Command],
    ) -> Vec<Poll> {
        let mut on_connect = Vec::new();
        for (i, p) in specs.iter().enumerate() {
            let path = vec![key("on_connect"), Seg::Index(i)];
            if let Some(params) = self.call(&path, &p.command, &p.params, commands) {
                on_connect.push(Poll {
                    command: p.command.clone(),
                    params,
                    every_secs: 0,
                });
            }
        }
        on_connect
    }

    pub(super) fn liveness(&mut self, l: &LivenessSpec, polls: &[Poll]) {
        if l.timeout_secs == 0 {
            self.err(
                &at(&["liveness", "timeout_secs"]),
                "the timeout is at least 1 second",
            );
        }
        if let Some(shortest) = polls.iter().map(|p| p.every_secs).min() {
            if l.timeout_secs <= shortest {
                self.err(
                    &at(&["liveness", "timeout_secs"]),
                    format!("the timeout must be longer than the shortest poll ({shortest} s), or a quiet device would flap"),
                );
            }
        }
    }

    /// A command named with its parameters (polls, on_connect).
    pub(super) fn call(
        &mut self,
        path: &[Seg],
        command: &str,
        given: &BTreeMap<String, toml::Value>,
        commands: &[Command],
    ) -> Option<BTreeMap<String, Value>> {
        let sub = |parts: &[&str]| {
            let mut q = path.to_vec();
            q.extend(parts.iter().map(|p| key(p)));
            q
        };
        let Some(c) = commands.iter().find(|c| c.name == command) else {
            self.err(
                &sub(&["command"]),
                format!("there is no command {command:?}"),
            );
            return None;
        };
        let mut params = BTreeMap::new();
        for (name, kind) in &c.params {
            match given.get(name).map(|v| kind.from_toml(v)) {
                Some(Ok(v)) => {
                    params.insert(name.clone(), v);
                }
                Some(Err(e)) => self.err(&sub(&["params", name]), e),
                None => self.err(&sub(&["params"]), format!("{} needs {name}", c.name)),
            }
        }
        for name in given.keys() {
            if !c.params.iter().any(|(n, _)| n == name) {
                self.err(
                    &sub(&["params", name]),
                    format!("{} has no parameter {name:?}", c.name),
                );
            }
        }
        Some(params)
    }
}
