//! A real Mosquitto broker for one test, and a subscriber that remembers
//! what it saw. The broker is Debian's `mosquitto` (installed by
//! `scripts/setup.sh --e2e`), started by the test on a free loopback port
//! with a config file written into a temporary directory: anonymous,
//! no persistence, no system service, 127.0.0.1 only (or another loopback
//! address, [`Mosquitto::start_on`], so clients are not all 127.0.0.1 to
//! 127.0.0.1).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::free_port;

pub struct Mosquitto {
    /// The loopback address it listens on.
    pub host: &'static str,
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// Lines added to the broker's config (TLS, passwords).
    extra: String,
}

impl Mosquitto {
    /// Starts a broker on a free port of 127.0.0.1 and waits until it accepts.
    pub async fn start() -> Mosquitto {
        Mosquitto::start_on("127.0.0.1").await
    }

    /// A broker listening on `host` (an address of 127.0.0.0/8) only.
    pub async fn start_on(host: &'static str) -> Mosquitto {
        Mosquitto::with(tempfile::tempdir().unwrap(), String::new(), host).await
    }

    async fn with(dir: tempfile::TempDir, extra: String, host: &'static str) -> Mosquitto {
        let mut broker = Mosquitto {
            host,
            port: free_port(),
            dir,
            child: None,
            extra,
        };
        broker.run().await;
        broker
    }

    /// A broker that speaks only TLS (a certificate for 127.0.0.1 signed by
    /// a CA made here, with openssl) and lets in only `user`/`password`.
    /// Returns the broker and the CA certificate's path.
    pub async fn start_tls(user: &str, password: &str) -> (Mosquitto, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let path = |f: &str| d.join(f).to_str().unwrap().to_string();
        let steps: [Vec<String>; 3] = [
            "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=roomctl-test-CA -keyout"
                .split(' ')
                .map(String::from)
                .chain([path("ca.key"), "-out".into(), path("ca.crt")])
                .collect(),
            "req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout"
                .split(' ')
                .map(String::from)
                .chain([path("broker.key"), "-out".into(), path("broker.csr")])
                .collect(),
            "x509 -req -days 1 -set_serial 1 -in"
                .split(' ')
                .map(String::from)
                .chain([path("broker.csr"), "-CA".into(), path("ca.crt")])
                .chain([
                    "-CAkey".into(),
                    path("ca.key"),
                    "-out".into(),
                    path("broker.crt"),
                ])
                .chain(["-extfile".into(), path("ext.cnf")])
                .collect(),
        ];
        for args in &steps {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (ok, _, err) = super::run("openssl", &args).await;
            assert!(ok, "openssl {args:?}: {err}");
        }
        // -b adds to an existing file.
        std::fs::write(d.join("passwd"), "").unwrap();
        let (ok, _, err) =
            super::run("mosquitto_passwd", &["-b", &path("passwd"), user, password]).await;
        assert!(ok, "mosquitto_passwd: {err}");
        let extra = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\nallow_anonymous false\npassword_file {}\n",
            path("ca.crt"),
            path("broker.crt"),
            path("broker.key"),
            path("passwd")
        );
        let ca = d.join("ca.crt");
        (Mosquitto::with(dir, extra, "127.0.0.1").await, ca)
    }

    /// `mqtt://<host>:<port>`
    pub fn url(&self) -> String {
        format!("mqtt://{}:{}", self.host, self.port)
    }

    async fn run(&mut self) {
        let conf = self.dir.path().join("mosquitto.conf");
        // Started as root, Mosquitto drops to the `mosquitto` user before
        // reading certificates, which then cannot open the test's private
        // temporary directory; `user root` keeps it as it was started.
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root\n"
        } else {
            ""
        };
        std::fs::write(
            &conf,
            format!(
                "listener {} {}\npersistence false\n{user}{}",
                self.port,
                self.host,
                if self.extra.is_empty() {
                    "allow_anonymous true\n"
                } else {
                    &self.extra
                }
            ),
        )
        .unwrap();
        // Debian puts the broker in /usr/sbin, which a user's PATH may lack.
        let program = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("mosquitto");
        let child = Command::new(program)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto runs (scripts/setup.sh --e2e installs it)");
        self.child = Some(child);
        for _ in 0..200 {
            if TcpStream::connect((self.host, self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("mosquitto did not listen on {}:{}", self.host, self.port);
    }

    /// Kills the broker (it keeps nothing: persistence is off).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Kills the broker and starts a fresh one on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.run().await;
    }

    /// `mosquitto_pub -t topic -m payload` (`-n` for an empty payload).
    pub async fn publish(&self, topic: &str, payload: &str) {
        let port = self.port.to_string();
        let mut args = vec!["-h", self.host, "-p", &port, "-q", "1", "-t", topic];
        if payload.is_empty() {
            args.push("-n");
        } else {
            args.extend(["-m", payload]);
        }
        let (ok, _, err) = super::run("mosquitto_pub", &args).await;
        assert!(ok, "mosquitto_pub: {err}");
    }
}

/// Per topic: the last payload and how many messages came.
type Seen = Arc<Mutex<BTreeMap<String, (Vec<u8>, usize)>>>;

/// A client subscribed to one filter that keeps, per topic, the last
/// payload and how many messages came; it resubscribes after a broker
/// restart.
#[derive(Clone)]
pub struct Watcher {
    seen: Seen,
    client: AsyncClient,
}

impl Watcher {
    pub async fn start(port: u16, filter: &str) -> Watcher {
        Watcher::start_at("127.0.0.1", port, filter).await
    }

    /// [`Watcher::start`] for a broker listening on `host`.
    pub async fn start_at(host: &str, port: u16, filter: &str) -> Watcher {
        let id = format!("watcher-{}", free_port());
        let mut options = MqttOptions::new(id, host, port);
        options.set_keep_alive(Duration::from_secs(5));
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 64);
        let seen = Seen::default();
        let (watcher, filter) = (
            Watcher {
                seen: seen.clone(),
                client: client.clone(),
            },
            filter.to_string(),
        );
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let mut subscribed_tx = Some(subscribed_tx);
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = client.subscribe(&filter, QoS::AtLeastOnce).await;
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(tx) = subscribed_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let mut seen = seen.lock().unwrap();
                        let entry = seen.entry(p.topic.clone()).or_default();
                        entry.0 = p.payload.to_vec();
                        entry.1 += 1;
                    }
                    Ok(_) => {}
                    Err(rumqttc::ConnectionError::RequestsDone) => return,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), subscribed)
            .await
            .expect("the watcher subscribes within 10 s")
            .unwrap();
        watcher
    }

    /// The last payload on `topic`, as text.
    pub fn last(&self, topic: &str) -> Option<String> {
        self.seen
            .lock()
            .unwrap()
            .get(topic)
            .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
    }

    /// The last payload on `topic` as JSON (None when absent or empty).
    pub fn json(&self, topic: &str) -> Option<serde_json::Value> {
        self.seen
            .lock()
            .unwrap()
            .get(topic)
            .and_then(|(p, _)| serde_json::from_slice(p).ok())
    }

    /// How many messages came on `topic`.
    pub fn count(&self, topic: &str) -> usize {
        self.seen.lock().unwrap().get(topic).map_or(0, |(_, n)| *n)
    }

    pub fn topics(&self) -> Vec<String> {
        self.seen.lock().unwrap().keys().cloned().collect()
    }

    /// Forgets everything seen so far.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }

    pub async fn stop(&self) {
        let _ = self.client.disconnect().await;
    }
}
