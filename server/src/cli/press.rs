//! `roomctl press HOST BUTTON`: press (and release) a button on a controller
//! over central control (TCP 5009), logging in when the controller asks.
//! [`CentralClient`] is the command client the tests and benchmark use too:
//! the glue around controller-core's `central_client` state machine, as the
//! station's watcher is for a room it watches.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use controller_core::central_client::{CentralLink, End, Login, Output, Plan, MAX_LINE_BYTES};
use controller_core::protocol::central::{Event, Request};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

#[derive(Debug, clap::Args)]
pub struct PressArgs {
    /// The controller's address or name (e.g. 127.0.0.1, room-214.local).
    pub host: String,
    /// The button id (as in the project file).
    pub button: String,
    /// The central-control port.
    #[arg(long, default_value_t = 5009)]
    pub port: u16,
    /// Log in as this user (operator or admin) when the controller asks.
    #[arg(long, short)]
    pub user: Option<String>,
    /// The password (prefer ROOMCTL_PASSWORD or --password-stdin: arguments
    /// are visible to other users of the machine).
    #[arg(long, env = "ROOMCTL_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Hold the button this long before releasing it, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub hold_ms: u64,
    /// Press only, do not release (the controller releases it when this
    /// program disconnects).
    #[arg(long)]
    pub no_release: bool,
}

pub async fn run(args: PressArgs) -> anyhow::Result<()> {
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        args.password.clone()
    };
    let addr = format!("{}:{}", args.host, args.port);
    let login = match (&args.user, password) {
        (Some(user), Some(password)) => Some(Login {
            user: user.clone(),
            password,
        }),
        _ => None,
    };
    let mut client = CentralClient::connect_as(&addr, login).await?;
    if client.login_required && !client.logged_in {
        bail!("{addr} asks for a login: pass --user NAME and the password (ROOMCTL_PASSWORD or --password-stdin)");
    }
    client.press(&args.button).await?;
    println!("pressed {} on {}", args.button, client.controller);
    if !args.no_release {
        tokio::time::sleep(Duration::from_millis(args.hold_ms)).await;
        client.release(&args.button).await?;
        println!("released {}", args.button);
    }
    Ok(())
}

/// A central-control connection: requests, and their replies in order.
/// The glue around [`controller_core::central_client`] (a command client:
/// hello, the login when credentials are given, replies paired with
/// requests, a bad or oversized line a clear error); the socket, the line
/// bound ([`MAX_LINE_BYTES`]) and the patience per line are its own.
pub struct CentralClient {
    lines: FramedRead<OwnedReadHalf, LinesCodec>,
    writer: OwnedWriteHalf,
    link: CentralLink<()>,
    addr: String,
    pub controller: String,
    pub login_required: bool,
    /// Logged in during the handshake ([`CentralClient::connect_as`]).
    pub logged_in: bool,
    /// Events that arrived while waiting for a reply (subscribers).
    pub events: Vec<Event>,
}

/// How long the client waits for each line.
const LINE_PATIENCE: Duration = Duration::from_secs(10);

impl CentralClient {
    /// Connects and reads the `hello`.
    pub async fn connect(addr: &str) -> anyhow::Result<CentralClient> {
        CentralClient::connect_as(addr, None).await
    }

    /// Connects, reads the `hello` and logs in with `login` if the
    /// controller asks.
    pub async fn connect_as(addr: &str, login: Option<Login>) -> anyhow::Result<CentralClient> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to central control at {addr}"))?;
        CentralClient::over_as(stream, login).await
    }

    /// Reads the `hello` on a connection made already (from a chosen
    /// local address, say).
    pub async fn over(stream: TcpStream) -> anyhow::Result<CentralClient> {
        CentralClient::over_as(stream, None).await
    }

    /// [`CentralClient::over`], logging in with `login` if asked.
    pub async fn over_as(stream: TcpStream, login: Option<Login>) -> anyhow::Result<CentralClient> {
        let addr = stream.peer_addr()?.to_string();
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut client = CentralClient {
            lines: FramedRead::new(r, LinesCodec::new_with_max_length(MAX_LINE_BYTES)),
            writer: w,
            // A command client has no deadlines of the link's and never
            // reconnects: its clock and backoff are unused.
            link: CentralLink::new(login, Plan::Commands, 1, 1),
            addr,
            controller: String::new(),
            login_required: false,
            logged_in: false,
            events: Vec::new(),
        };
        client.link.connected(0);
        while !client.link.is_live() {
            for output in client.next_outputs().await? {
                match output {
                    Output::Send(request) => client.send(&request).await?,
                    Output::Hello(hello) => {
                        client.controller = hello.controller;
                        client.login_required = hello.login_required;
                    }
                    Output::LoggedIn => client.logged_in = true,
                    Output::Ended(End::Bye(r)) => {
                        bail!("{} refused the connection: {r}", client.addr)
                    }
                    Output::Ended(end @ End::ProtocolError(_)) if client.controller.is_empty() => {
                        bail!("{} did not say hello: {end}", client.addr)
                    }
                    Output::Ended(end) => bail!("{}: {end}", client.addr),
                    _ => {}
                }
            }
        }
        Ok(client)
    }

    /// What the link makes of the next line (or of its absence).
    async fn next_outputs(&mut self) -> anyhow::Result<Vec<Output<()>>> {
        let line = tokio::time::timeout(LINE_PATIENCE, self.lines.next())
            .await
            .map_err(|_| {
                anyhow!(
                    "{}: no answer from the controller within {} s",
                    self.addr,
                    LINE_PATIENCE.as_secs()
                )
            })?;
        Ok(match line {
            None => self.link.closed("the controller closed the connection"),
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => self.link.too_long(),
            Some(Err(LinesCodecError::Io(e))) => self.link.closed(&format!("read error: {e}")),
            Some(Ok(line)) => self.link.line(0, line.as_bytes()),
        })
    }

    /// The next line from the controller as it came, outside the link's
    /// pairing of replies (for tests that send with [`CentralClient::send`]).
    pub async fn next_event(&mut self) -> anyhow::Result<Event> {
        let line = tokio::time::timeout(LINE_PATIENCE, self.lines.next())
            .await
            .with_context(|| {
                format!(
                    "no answer from the controller within {} s",
                    LINE_PATIENCE.as_secs()
                )
            })?;
        match line {
            None => bail!("the controller closed the connection"),
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                bail!("the controller sent a line longer than {MAX_LINE_BYTES} bytes")
            }
            Some(Err(LinesCodecError::Io(e))) => Err(e).context("read error"),
            Some(Ok(line)) => Event::decode(line.as_bytes()).map_err(|e| anyhow!("{e}")),
        }
    }

    /// Sends a request as it is, outside the link's pairing of replies.
    pub async fn send(&mut self, request: &Request) -> anyhow::Result<()> {
        self.writer.write_all(&request.encode()).await?;
        Ok(())
    }

    /// Sends a request and returns its reply (events before it are kept in
    /// `events`). An `error` or `bye` reply is an error.
    pub async fn request(&mut self, request: &Request) -> anyhow::Result<Event> {
        match self.link.request(request.clone(), ()) {
            Ok(Output::Send(request)) => self.send(&request).await?,
            Ok(_) => {}
            Err(((), why)) => bail!("{}: {why}", self.addr),
        }
        loop {
            for output in self.next_outputs().await? {
                match output {
                    Output::Event(e) => self.events.push(e),
                    Output::Reply((), Ok(reply)) => return Ok(reply),
                    Output::Reply((), Err(refusal)) => bail!("{refusal}"),
                    Output::Ended(end) => bail!("{}: {end}", self.addr),
                    _ => {}
                }
            }
        }
    }

    pub async fn login(&mut self, user: &str, password: &str) -> anyhow::Result<()> {
        self.request(&Request::Login {
            user: user.into(),
            password: password.into(),
        })
        .await
        .context("login refused")?;
        Ok(())
    }

    pub async fn press(&mut self, button: &str) -> anyhow::Result<()> {
        self.request(&Request::Press {
            button: button.into(),
        })
        .await?;
        Ok(())
    }

    pub async fn release(&mut self, button: &str) -> anyhow::Result<()> {
        self.request(&Request::Release {
            button: button.into(),
        })
        .await?;
        Ok(())
    }

    /// The raw halves, for clients that pipeline (the benchmark).
    pub fn into_parts(self) -> (FramedRead<OwnedReadHalf, LinesCodec>, OwnedWriteHalf) {
        (self.lines, self.writer)
    }
}
