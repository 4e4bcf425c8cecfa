//! A real CalDAV server for one test: Debian's `radicale` (installed by
//! `scripts/setup.sh --e2e`), started by the test on a free port of
//! 127.0.0.2 (the controller, its client, comes from 127.0.0.1) with a config file and storage in a temporary directory: one
//! user with a plain-text password (htpasswd), nothing shared with the
//! machine's own Radicale, if any. A second user, `lobby` (password
//! [`READER_PASSWORD`]), may read the first user's calendars and not
//! change them: a room whose account is read-only.

use std::process::Stdio;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::{free_port, OTHER_ADDRESS};

/// The read-only user `lobby`'s password.
pub const READER_PASSWORD: &str = "lobby-secret";

/// Each user writes their own collections; `lobby` reads `room`'s.
const RIGHTS: &str = "[owner]\nuser: .+\ncollection: {user}(/.*)?\npermissions: RrWw\n\n\
[lobby-reads-room]\nuser: lobby\ncollection: room(/.*)?\npermissions: Rr\n\n\
[root]\nuser: .+\ncollection:\npermissions: R\n";

pub struct Radicale {
    pub port: u16,
    pub user: &'static str,
    pub password: &'static str,
    pub dir: tempfile::TempDir,
    _child: Child,
}

impl Radicale {
    /// Starts the server and waits until it accepts connections.
    pub async fn start() -> Radicale {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (user, password) = ("room", "booking-secret");
        let d = dir.path();
        std::fs::write(
            d.join("users"),
            format!("{user}:{password}\nlobby:{READER_PASSWORD}\n"),
        )
        .unwrap();
        std::fs::write(d.join("rights"), RIGHTS).unwrap();
        std::fs::write(
            d.join("config"),
            format!(
                "[server]\nhosts = {OTHER_ADDRESS}:{port}\n\
                 [auth]\ntype = htpasswd\nhtpasswd_filename = {}\nhtpasswd_encryption = plain\ndelay = 0\n\
                 [rights]\ntype = from_file\nfile = {}\n\
                 [storage]\nfilesystem_folder = {}\n\
                 [web]\ntype = none\n\
                 [logging]\nlevel = warning\n",
                d.join("users").display(),
                d.join("rights").display(),
                d.join("collections").display()
            ),
        )
        .unwrap();
        let child = Command::new("radicale")
            .arg("--config")
            .arg(d.join("config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("radicale runs (scripts/setup.sh --e2e installs it)");
        for _ in 0..200 {
            if TcpStream::connect((OTHER_ADDRESS, port)).await.is_ok() {
                return Radicale {
                    port,
                    user,
                    password,
                    dir,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("radicale did not start on {OTHER_ADDRESS}:{port}");
    }

    /// The address of `path` on the server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{OTHER_ADDRESS}:{}{path}", self.port)
    }

    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder().build().unwrap()
    }

    /// Makes the calendar collection `path` (MKCALENDAR).
    pub async fn make_calendar(&self, path: &str) {
        let r = self
            .client()
            .request(
                reqwest::Method::from_bytes(b"MKCALENDAR").unwrap(),
                self.url(path),
            )
            .basic_auth(self.user, Some(self.password))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "MKCALENDAR {path}: {}", r.status());
    }

    /// Stores one event resource.
    pub async fn put(&self, path: &str, ics: &str) {
        let r = self
            .client()
            .put(self.url(path))
            .basic_auth(self.user, Some(self.password))
            .header("content-type", "text/calendar")
            .body(ics.to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "PUT {path}: {}", r.status());
    }

    /// A resource as the server has it now.
    pub async fn get(&self, path: &str) -> String {
        let r = self
            .client()
            .get(self.url(path))
            .basic_auth(self.user, Some(self.password))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.unwrap()
    }
}
