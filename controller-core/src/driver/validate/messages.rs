//! What a driver says and hears: its login exchange, its commands and the
//! responses it reads into state.

use super::*;

impl Check<'_, '_> {
    pub(super) fn login(&mut self, l: &LoginSpec, settings: &[Typed]) -> Option<Login> {
        if l.steps.is_empty() {
            self.err(&at(&["login", "steps"]), "a login has at least one step");
        }
        let mut steps = Vec::new();
        for (i, s) in l.steps.iter().enumerate() {
            let path = vec![key("login"), key("steps"), Seg::Index(i)];
            if s.prompt.is_empty() {
                let mut q = path.clone();
                q.push(key("prompt"));
                self.err(&q, "the prompt is not empty");
            }
            let send = match &s.send {
                Some(src) => {
                    let mut q = path.clone();
                    q.push(key("send"));
                    let t = self.template(&q, src, false)?;
                    for slot in t.slots() {
                        if !settings.iter().any(|s| s.name == slot) {
                            self.err(&q, format!("{{{slot}}} is not a setting"));
                        }
                    }
                    if t.has_wildcards() {
                        self.err(&q, "{*} cannot be sent");
                    }
                    Some(t)
                }
                None => None,
            };
            steps.push(LoginStep {
                prompt: s.prompt.clone().into_bytes(),
                send,
            });
        }
        for (f, v) in [("success", &l.success), ("failure", &l.failure)] {
            if v.as_ref().is_some_and(|v| v.is_empty()) {
                self.err(&at(&["login", f]), format!("{f} is not empty"));
            }
        }
        Some(Login {
            steps,
            success: l.success.clone().map(String::into_bytes),
            failure: l.failure.clone().map(String::into_bytes),
        })
    }

    pub(super) fn command(
        &mut self,
        name: &str,
        c: &CommandSpec,
        binary: bool,
        settings: &[Typed],
        state: &[Typed],
    ) -> Option<Command> {
        let path = vec![key("commands"), key(name)];
        let sub = |f: &str| {
            let mut q = path.clone();
            q.push(key(f));
            q
        };
        if !is_name(name) {
            self.err(
                &path,
                "a command's name is lower-case letters, digits and _, starting with a letter",
            );
        }
        let params = self.command_params(&path, c, binary, settings);
        let send = self.template(&sub("send"), &c.send, binary)?;
        self.command_send(&path, name, &send, &params, settings);
        let kind_of = |slot: &str| {
            params
                .iter()
                .find(|(n, _)| n == slot)
                .map(|(_, k)| k.clone())
                .or_else(|| {
                    settings
                        .iter()
                        .find(|s| s.name == slot)
                        .map(|s| s.kind.clone())
                })
        };
        let matcher = match Matcher::new(&send, &kind_of) {
            Ok(m) => m,
            Err(e) => {
                self.err(&sub("send"), e);
                return None;
            }
        };
        let sets = self.command_sets(&path, name, c, &params, state);
        let reply = self.command_reply(&path, c, binary, &params, settings, state);
        Some(Command {
            name: name.to_string(),
            params,
            send,
            description: c.description.clone(),
            matcher,
            sets,
            reply,
        })
    }

    /// A command's typed parameters.
    fn command_params(
        &mut self,
        path: &[Seg],
        c: &CommandSpec,
        binary: bool,
        settings: &[Typed],
    ) -> Vec<(String, Kind)> {
        let mut params = Vec::new();
        for (p, spec) in &c.params {
            let q = below(path, &["params", p]);
            if !is_name(p) {
                self.err(&q, "a parameter's name is lower-case letters, digits and _");
            }
            if settings.iter().any(|s| s.name == *p) {
                self.err(&q, format!("{p} is also a setting; rename one"));
            }
            if let Some(k) = self.kind(&q, spec, binary) {
                if binary && matches!(k, Kind::Number { .. }) {
                    self.err(&q, "a binary driver's parameter is an int or enum");
                }
                params.push((p.clone(), k));
            }
        }
        params
    }

    /// A command's `send`: exact bytes, each slot a parameter or a setting,
    /// each parameter used.
    fn command_send(
        &mut self,
        path: &[Seg],
        name: &str,
        send: &Template,
        params: &[(String, Kind)],
        settings: &[Typed],
    ) {
        let q = below(path, &["send"]);
        if send.has_wildcards() {
            self.err(
                &q,
                "{*} and ?? are for responses; a command sends exact bytes",
            );
        }
        for slot in send.slots() {
            if !params.iter().any(|(n, _)| n == slot) && !settings.iter().any(|s| s.name == slot) {
                self.err(
                    &q,
                    format!("{{{slot}}} is neither a parameter of {name} nor a setting"),
                );
            }
        }
        for (p, _) in params {
            if !send.slots().any(|s| s == p) {
                self.err(
                    &below(path, &["params", p]),
                    format!("{{{p}}} is not used in send"),
                );
            }
        }
    }

    /// The state a command sets when sent: a fixed value, or one of its
    /// parameters that fits the state.
    fn command_sets(
        &mut self,
        path: &[Seg],
        name: &str,
        c: &CommandSpec,
        params: &[(String, Kind)],
        state: &[Typed],
    ) -> Vec<(String, SetValue)> {
        let mut sets = Vec::new();
        for (s, v) in &c.sets {
            let q = below(path, &["sets", s]);
            let Some(def) = state.iter().find(|d| d.name == *s) else {
                self.err(&q, format!("there is no state {s:?}"));
                continue;
            };
            let param = v.strip_prefix('{').and_then(|v| v.strip_suffix('}'));
            match param {
                Some(p) => match params.iter().find(|(n, _)| n == p) {
                    Some((_, k)) => {
                        if !fits(k, &def.kind) {
                            self.err(
                                &q,
                                format!(
                                    "{{{p}}} ({}) does not fit {s} ({})",
                                    k.describe(),
                                    def.kind.describe()
                                ),
                            );
                        }
                        sets.push((s.clone(), SetValue::Param(p.to_string())));
                    }
                    None => self.err(&q, format!("{{{p}}} is not a parameter of {name}")),
                },
                None => match def.kind.from_user(v) {
                    Ok(v) => sets.push((s.clone(), SetValue::Fixed(v))),
                    Err(e) => self.err(&q, e),
                },
            }
        }
        sets
    }

    /// What the simulator answers to a command: exact bytes from its
    /// parameters, settings and state.
    fn command_reply(
        &mut self,
        path: &[Seg],
        c: &CommandSpec,
        binary: bool,
        params: &[(String, Kind)],
        settings: &[Typed],
        state: &[Typed],
    ) -> Vec<Template> {
        let mut reply = Vec::new();
        for (i, r) in c.reply.iter().enumerate() {
            let mut q = below(path, &["reply"]);
            q.push(Seg::Index(i));
            let Some(t) = self.template(&q, r, binary) else {
                continue;
            };
            if t.has_wildcards() {
                self.err(&q, "a reply is sent by the simulator: no {*} or ??");
            }
            for slot in t.slots() {
                let known = params.iter().any(|(n, _)| n == slot)
                    || settings.iter().any(|s| s.name == slot)
                    || state.iter().any(|s| s.name == slot);
                if !known {
                    self.err(
                        &q,
                        format!("{{{slot}}} is not a parameter, setting or state"),
                    );
                }
            }
            reply.push(t);
        }
        reply
    }

    pub(super) fn response(
        &mut self,
        i: usize,
        r: &ResponseSpec,
        binary: bool,
        state: &[Typed],
        settings: &[Typed],
        commands: &BTreeSet<String>,
    ) -> Option<Response> {
        let path = vec![key("responses"), Seg::Index(i)];
        let sub = |f: &str| {
            let mut q = path.clone();
            q.push(key(f));
            q
        };
        let format = self.template(&sub("format"), &r.format, binary)?;
        if format.pieces.is_empty() || format.pieces.iter().all(|p| matches!(p, Piece::Any)) {
            self.err(
                &sub("format"),
                "a response's format has something to recognise",
            );
        }
        // A setting's slot must hold this device's value (a matrix's
        // output, a display's id); state slots are read.
        let kind_of = |slot: &str| {
            state
                .iter()
                .chain(settings)
                .find(|s| s.name == slot)
                .map(|s| s.kind.clone())
        };
        let matcher = match Matcher::new(&format, &kind_of) {
            Ok(m) => m,
            Err(e) => {
                self.err(
                    &sub("format"),
                    format!("{e} (a response's slots name state or settings)"),
                );
                return None;
            }
        };
        let mut sets = Vec::new();
        for (s, v) in &r.sets {
            let mut q = sub("sets");
            q.push(key(s));
            match state.iter().find(|d| d.name == *s) {
                Some(def) => match def.kind.from_user(v) {
                    Ok(v) => sets.push((s.clone(), v)),
                    Err(e) => self.err(&q, e),
                },
                None => self.err(&q, format!("there is no state {s:?}")),
            }
        }
        for (k, a) in r.after.iter().enumerate() {
            if !commands.contains(a) {
                let mut q = sub("after");
                q.push(Seg::Index(k));
                self.err(&q, format!("there is no command {a:?}"));
            }
        }
        Some(Response {
            name: r.name.clone(),
            format,
            matcher,
            sets,
            unsolicited: r.unsolicited,
            after: r.after.clone(),
        })
    }
}
