//! `roomctl press HOST BUTTON`: press (and release) a button on a controller
//! over central control (TCP 5009), logging in when the controller asks.
//! [`CentralClient`] is the small client the tests and benchmark use too.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{bail, Context};
use controller_core::protocol::central::{Event, Request};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

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
    let mut client = CentralClient::connect(&addr).await?;
    if client.login_required {
        let (Some(user), Some(password)) = (&args.user, &password) else {
            bail!("{addr} asks for a login: pass --user NAME and the password (ROOMCTL_PASSWORD or --password-stdin)");
        };
        client.login(user, password).await?;
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
pub struct CentralClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    pub controller: String,
    pub login_required: bool,
    /// Events that arrived while waiting for a reply (subscribers).
    pub events: Vec<Event>,
}

impl CentralClient {
    /// Connects and reads the `hello`.
    pub async fn connect(addr: &str) -> anyhow::Result<CentralClient> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to central control at {addr}"))?;
        CentralClient::over(stream).await
    }

    /// Reads the `hello` on a connection made already (from a chosen
    /// local address, say).
    pub async fn over(stream: TcpStream) -> anyhow::Result<CentralClient> {
        let addr = stream.peer_addr()?;
        stream.set_nodelay(true)?;
        let (r, w) = stream.into_split();
        let mut client = CentralClient {
            reader: BufReader::new(r),
            writer: w,
            controller: String::new(),
            login_required: false,
            events: Vec::new(),
        };
        match client.next_event().await? {
            Event::Hello {
                controller,
                login_required,
                ..
            } => {
                client.controller = controller;
                client.login_required = login_required;
            }
            Event::Bye { code, message } => {
                bail!("{addr} refused the connection: {code:?}: {message}")
            }
            other => bail!("{addr} did not say hello: {other:?}"),
        }
        Ok(client)
    }

    /// The next line from the controller.
    pub async fn next_event(&mut self) -> anyhow::Result<Event> {
        let mut line = Vec::new();
        let n = tokio::time::timeout(
            Duration::from_secs(10),
            self.reader.read_until(b'\n', &mut line),
        )
        .await
        .context("no answer from the controller within 10 s")??;
        if n == 0 {
            bail!("the controller closed the connection");
        }
        Event::decode(&line).map_err(|e| anyhow::anyhow!("{e}"))
    }

    pub async fn send(&mut self, request: &Request) -> anyhow::Result<()> {
        self.writer.write_all(&request.encode()).await?;
        Ok(())
    }

    /// Sends a request and returns its reply (events before it are kept in
    /// `events`). An `error` or `bye` reply is an error.
    pub async fn request(&mut self, request: &Request) -> anyhow::Result<Event> {
        self.send(request).await?;
        loop {
            match self.next_event().await? {
                e @ (Event::Step { .. } | Event::Device { .. }) => self.events.push(e),
                Event::Error { code, message } | Event::Bye { code, message } => {
                    bail!("{code:?}: {message}")
                }
                reply => return Ok(reply),
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
    pub fn into_parts(self) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf) {
        (self.reader, self.writer)
    }
}
