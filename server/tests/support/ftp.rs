//! A minimal FTP control connection (for attacks and for uploads that are
//! cut short on purpose), with passive-mode data connections.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

pub struct Control {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
}

impl Control {
    /// Connects and reads the greeting (220).
    pub async fn connect(addr: SocketAddr) -> Control {
        Control::over(TcpStream::connect(addr).await.unwrap()).await
    }

    /// Reads the greeting (220) on a connection made already (from a
    /// chosen local address, say).
    pub async fn over(stream: TcpStream) -> Control {
        let (r, w) = stream.into_split();
        let mut c = Control {
            r: BufReader::new(r),
            w,
        };
        let greeting = c.reply().await;
        assert!(greeting.starts_with("220"), "greeting: {greeting}");
        c
    }

    /// Connects and logs in (331, 230).
    pub async fn login(addr: SocketAddr, user: &str, password: &str) -> Control {
        let mut c = Control::connect(addr).await;
        let r = c.cmd(&format!("USER {user}")).await;
        assert!(r.starts_with("331"), "USER: {r}");
        let r = c.cmd(&format!("PASS {password}")).await;
        assert!(r.starts_with("230"), "PASS: {r}");
        c
    }

    /// Connects from `local` (another address of this host) and logs in.
    pub async fn login_from(local: &str, addr: SocketAddr, user: &str, password: &str) -> Control {
        let mut c = Control::over(super::connect_from(local, addr).await).await;
        let r = c.cmd(&format!("USER {user}")).await;
        assert!(r.starts_with("331"), "USER: {r}");
        let r = c.cmd(&format!("PASS {password}")).await;
        assert!(r.starts_with("230"), "PASS: {r}");
        c
    }

    /// The next complete reply (every line of a multi-line one).
    pub async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(Duration::from_secs(20), self.r.read_line(&mut line))
                .await
                .expect("reply in time")
                .unwrap();
            assert!(n > 0, "connection closed; so far: {all}");
            all.push_str(&line);
            // The last line of a reply is "NNN text".
            if line.len() >= 4
                && line.as_bytes()[3] == b' '
                && line[..3].bytes().all(|b| b.is_ascii_digit())
            {
                return all;
            }
        }
    }

    /// Sends a command line (CRLF added) without waiting for the reply.
    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Sends bytes as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).await.unwrap();
    }

    /// Sends a command line and reads its reply.
    pub async fn cmd(&mut self, line: &str) -> String {
        self.send(line).await;
        self.reply().await
    }

    /// `PASV`, then the data connection to the port it names on 127.0.0.1.
    pub async fn passive(&mut self) -> TcpStream {
        let pasv = self.cmd("PASV").await;
        assert!(pasv.starts_with("227"), "PASV: {pasv}");
        TcpStream::connect(("127.0.0.1", pasv_port(&pasv)))
            .await
            .unwrap()
    }
}

/// The data port of a `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` reply.
pub fn pasv_port(reply: &str) -> u16 {
    let (open, close) = (reply.find('('), reply.find(')'));
    let (Some(open), Some(close)) = (open, close) else {
        panic!("not a PASV reply: {reply}")
    };
    let nums: Vec<u16> = reply[open + 1..close]
        .split(',')
        .map(|n| n.trim().parse().unwrap())
        .collect();
    assert_eq!(nums.len(), 6, "not a PASV reply: {reply}");
    nums[4] * 256 + nums[5]
}
