//! `roomctl project push|pull|validate|apply|rollback HOST`: manage a
//! controller's project from an installer's machine. Files go over FTP
//! (the suppaftp client); validation, apply and rollback run on the Telnet
//! console, whose answers are printed as they come.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use suppaftp::types::FileType;
use suppaftp::FtpStream;

#[derive(Debug, Args)]
pub struct Remote {
    /// The controller's address (name or IP).
    pub host: String,
    /// The user to log in as (an admin to upload, apply or roll back).
    #[arg(long, short, default_value = "admin")]
    pub user: String,
    /// The FTP port.
    #[arg(long, default_value_t = 21)]
    pub ftp_port: u16,
    /// The Telnet console port.
    #[arg(long, default_value_t = 23)]
    pub telnet_port: u16,
    /// Active-mode FTP (the controller connects back) instead of passive.
    #[arg(long)]
    pub active: bool,
    /// Read the password from standard input (else ROOMCTL_PASSWORD, else a prompt).
    #[arg(long)]
    pub password_stdin: bool,
    /// Give up when the controller has not answered (a reply, a data
    /// connection, the next bytes of a transfer) for this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
}

impl Remote {
    fn wait(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Upload a project file (it is validated; `--apply` runs it).
    Push {
        #[command(flatten)]
        remote: Remote,
        /// The project file (TOML).
        file: PathBuf,
        /// Apply it at once (over the Telnet console).
        #[arg(long)]
        apply: bool,
    },
    /// Download the active project (or `--which previous|pending`).
    Pull {
        #[command(flatten)]
        remote: Remote,
        /// Where to write it; `-` for standard output.
        #[arg(long, short, default_value = "-")]
        output: PathBuf,
        #[arg(long, default_value = "active")]
        which: Which,
    },
    /// Ask the controller to check the uploaded project (errors with line and field).
    Validate {
        #[command(flatten)]
        remote: Remote,
    },
    /// Run the uploaded project.
    Apply {
        #[command(flatten)]
        remote: Remote,
    },
    /// Go back to the previous project.
    Rollback {
        #[command(flatten)]
        remote: Remote,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Which {
    Active,
    Previous,
    Pending,
}

pub async fn run(cmd: ProjectCommand) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run_blocking(cmd)).await?
}

fn run_blocking(cmd: ProjectCommand) -> anyhow::Result<()> {
    match cmd {
        ProjectCommand::Push {
            remote,
            file,
            apply,
        } => push(&remote, &file, apply),
        ProjectCommand::Pull {
            remote,
            output,
            which,
        } => pull(&remote, &output, which),
        ProjectCommand::Validate { remote } => {
            let password = password(&remote)?;
            print!("{}", console(&remote, &password, "project validate")?);
            Ok(())
        }
        ProjectCommand::Apply { remote } => {
            let password = password(&remote)?;
            change(&remote, &password, "project apply")
        }
        ProjectCommand::Rollback { remote } => {
            let password = password(&remote)?;
            change(&remote, &password, "project rollback")
        }
    }
}

/// `roomctl project push`: uploads `file` over FTP as the pending project
/// and prints the controller's report on it; `apply` applies it after.
fn push(remote: &Remote, file: &Path, apply: bool) -> anyhow::Result<()> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let password = password(remote)?;
    let mut ftp = ftp_login(remote, &password)?;
    // A name of this upload's own: the report names the file it is
    // about, so a report left by an earlier upload (this one was
    // refused before the controller read it, e.g. for want of the
    // admin role) is never shown as this one's.
    let name = upload_name();
    let stored = ftp.put_file(&name, &mut text.as_slice());
    let report = ftp
        .retr_as_buffer(crate::services::ftp::storage::REPORT)
        .map(|c| String::from_utf8_lossy(&c.into_inner()).into_owned())
        .ok()
        .filter(|r| r.contains(&format!(" {name}")));
    let _ = ftp.quit();
    if let Err(e) = &stored {
        if timed_out(e) {
            anyhow::bail!(
                "the upload of {} did not complete: {}",
                file.display(),
                no_answer(remote)
            );
        }
    }
    match (stored, report) {
        (Ok(n), Some(report)) => {
            println!("uploaded {} ({n} bytes): {}", file.display(), report.trim())
        }
        (Ok(n), None) => println!("uploaded {} ({n} bytes)", file.display()),
        (Err(e), Some(report)) => anyhow::bail!(
            "the controller refused {}: {}\n{}",
            file.display(),
            ftp_reply(&e),
            report.trim()
        ),
        (Err(e), None) => anyhow::bail!(
            "the controller refused {}: {}",
            file.display(),
            ftp_reply(&e)
        ),
    }
    if apply {
        change(remote, &password, "project apply")?;
    }
    Ok(())
}

/// `roomctl project pull`: downloads the active, previous or pending
/// project to `output` (`-`: standard output).
fn pull(remote: &Remote, output: &Path, which: Which) -> anyhow::Result<()> {
    let password = password(remote)?;
    let mut ftp = ftp_login(remote, &password)?;
    let name = match which {
        Which::Active => crate::storage::project_store::ACTIVE,
        Which::Previous => crate::storage::project_store::PREVIOUS,
        Which::Pending => crate::storage::project_store::PENDING,
    };
    let data = match ftp.retr_as_buffer(name) {
        Ok(d) => d.into_inner(),
        Err(e) if timed_out(&e) => {
            anyhow::bail!("cannot download {name}: {}", no_answer(remote))
        }
        Err(e) => anyhow::bail!("cannot download {name}: {}", ftp_reply(&e)),
    };
    let _ = ftp.quit();
    if output.as_os_str() == "-" {
        std::io::stdout().write_all(&data)?;
    } else {
        crate::storage::durable::write_atomic(
            output
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new(".")),
            &output
                .file_name()
                .context("--output needs a file name")?
                .to_string_lossy(),
            &data,
        )?;
        eprintln!(
            "saved {name} as {} ({} bytes)",
            output.display(),
            data.len()
        );
    }
    Ok(())
}

/// The name an upload is stored under on the controller (any `NAME.toml`
/// becomes the pending project): unique to this push.
fn upload_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("push-{}-{nanos}.toml", std::process::id())
}

/// The controller's FTP reply in an error, in words.
fn ftp_reply(e: &suppaftp::FtpError) -> String {
    match e {
        suppaftp::FtpError::UnexpectedResponse(r) => {
            let body = String::from_utf8_lossy(&r.body).trim().to_string();
            let code = r.status.code().to_string();
            if body.starts_with(&code) {
                body
            } else {
                format!("{code} {body}")
            }
        }
        other => other.to_string(),
    }
}

/// Whether `e` is a wait that ran out (`--timeout`).
fn timed_out(e: &suppaftp::FtpError) -> bool {
    matches!(e, suppaftp::FtpError::ConnectionError(io)
        if matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

/// What to tell the user when the controller went silent.
fn no_answer(remote: &Remote) -> String {
    format!(
        "the controller at {} did not answer within {} s (a firewall may block the FTP data \
         connection: try --active, or open the controller's passive ports; --timeout waits longer)",
        remote.host, remote.timeout
    )
}

/// Runs `project apply` or `project rollback` on the console: its answer
/// on standard output when it was done, else an error (exit status 1) with
/// the console's reason, so scripts can tell.
fn change(remote: &Remote, password: &str, command: &str) -> anyhow::Result<()> {
    let answer = console(remote, password, command)?;
    if answer.contains("now running") {
        print!("{answer}");
        Ok(())
    } else {
        anyhow::bail!("{command} was refused: {}", answer.trim())
    }
}

fn password(remote: &Remote) -> anyhow::Result<String> {
    if remote.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if let Ok(p) = std::env::var("ROOMCTL_PASSWORD") {
        return Ok(p);
    }
    Ok(rpassword::prompt_password(format!(
        "password for {}@{}: ",
        remote.user, remote.host
    ))?)
}

fn resolve(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))
}

fn ftp_login(remote: &Remote, password: &str) -> anyhow::Result<FtpStream> {
    let addr = resolve(&remote.host, remote.ftp_port)?;
    let wait = remote.wait();
    // Every wait is bounded: the control replies, the data connection and
    // each read or write on it (a dead data connection is an error, not a
    // hang).
    let mut ftp = FtpStream::connect_timeout(addr, wait)
        .with_context(|| format!("cannot reach the FTP service at {addr}"))?
        .passive_stream_builder(move |to| {
            let s = TcpStream::connect_timeout(&to, wait)
                .map_err(suppaftp::FtpError::ConnectionError)?;
            s.set_read_timeout(Some(wait))
                .and_then(|()| s.set_write_timeout(Some(wait)))
                .map_err(suppaftp::FtpError::ConnectionError)?;
            Ok(s)
        });
    {
        let control = ftp.get_ref();
        control.set_read_timeout(Some(wait))?;
        control.set_write_timeout(Some(wait))?;
    }
    if remote.active {
        ftp = ftp.active_mode(wait);
    }
    ftp.login(remote.user.as_str(), password)
        .with_context(|| format!("FTP login as {} failed", remote.user))?;
    ftp.transfer_type(FileType::Binary)?;
    Ok(ftp)
}

/// Runs one console command and returns its output. A plain line client:
/// the console works without option negotiation (as with `nc`), so the
/// server's offers are skipped, never answered.
fn console(remote: &Remote, password: &str, command: &str) -> anyhow::Result<String> {
    let addr = resolve(&remote.host, remote.telnet_port)?;
    let mut s = TcpStream::connect_timeout(&addr, remote.wait())
        .with_context(|| format!("cannot reach the console at {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    read_until(&mut s, "login: ")?;
    writeln!(s, "{}", remote.user)?;
    read_until(&mut s, "Password: ")?;
    writeln!(s, "{password}")?;
    let after_login = read_until_any(&mut s, &["roomctl> ", "login: ", "goodbye"])?;
    anyhow::ensure!(
        after_login.ends_with("roomctl> "),
        "console login as {} failed",
        remote.user
    );
    writeln!(s, "{command}")?;
    let out = read_until(&mut s, "roomctl> ")?;
    let _ = writeln!(s, "quit");
    Ok(out.trim_end_matches("roomctl> ").to_string())
}

fn read_until(s: &mut TcpStream, needle: &str) -> anyhow::Result<String> {
    read_until_any(s, &[needle])
}

fn read_until_any(s: &mut TcpStream, needles: &[&str]) -> anyhow::Result<String> {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    let mut iac = 0usize;
    loop {
        let n = s.read(&mut buf).context("the console did not answer")?;
        anyhow::ensure!(n > 0, "the console closed the connection");
        for &b in &buf[..n] {
            // Skip IAC <verb> <option> (3 bytes) sequences.
            if iac > 0 {
                iac -= 1;
            } else if b == 255 {
                iac = 2;
            } else if b != b'\r' {
                text.push(b);
            }
        }
        anyhow::ensure!(text.len() < 1 << 20, "the console's answer is too long");
        let t = String::from_utf8_lossy(&text);
        if needles.iter().any(|n| t.ends_with(n)) {
            return Ok(t.into_owned());
        }
    }
}
