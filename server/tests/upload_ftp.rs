//! FTP with real clients: curl (upload, download, list, passive and
//! active), Python's ftplib (passive and active), and a raw control
//! connection for the attacks (traversal, symlinks, FTP bounce). Loopback
//! only.

use crate::support;

use support::ftp::Control;
use support::*;

const FTPLIB: &str = r#"
import ftplib, io, sys
host, port, user, pw, mode, upload = sys.argv[1:7]
ftp = ftplib.FTP()
ftp.connect(host, int(port), timeout=20)
ftp.login(user, pw)
ftp.set_pasv(mode == "passive")
with open(upload, "rb") as f:
    ftp.storbinary("STOR room.toml", f)
print("NAMES", sorted(n.lstrip("/") for n in ftp.nlst()))
data = io.BytesIO()
ftp.retrbinary("RETR pending.toml", data.write)
print("PENDING", len(data.getvalue()))
ftp.quit()
"#;

/// curl, quiet but for errors.
async fn curl(args: &[&str]) -> (bool, String, String) {
    run("curl", &[&["-sS"], args].concat()).await
}

fn url(addr: std::net::SocketAddr, path: &str) -> String {
    format!("ftp://{addr}/{path}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_uploads_lists_and_downloads() {
    let h = TestSettings::upload((41000, 41049));
    let running = h.start().await;
    let addr = running.addrs.ftp.expect("ftp is on");
    let creds = format!("{ADMIN}:{ADMIN_PW}");
    let file = h.dir.path().join("room.toml");
    let text = project("Room via curl", 2);
    std::fs::write(&file, &text).unwrap();

    // Upload (passive, EPSV).
    let (ok, _, err) = curl(&[
        "--user",
        &creds,
        "-T",
        file.to_str().unwrap(),
        &url(addr, "room.toml"),
    ])
    .await;
    assert!(ok, "curl upload failed: {err}");
    assert_eq!(
        std::fs::read_to_string(h.project_dir().join("pending.toml")).unwrap(),
        text
    );
    // Not applied: auto_apply is off.
    assert_eq!(
        running.controller.project().project.name,
        "Demo meeting room"
    );

    // List.
    let (ok, out, err) = curl(&["--user", &creds, "--list-only", &url(addr, "")]).await;
    assert!(ok, "curl list failed: {err}");
    assert!(
        out.contains("pending.toml") && out.contains("upload-report.txt"),
        "listing: {out}"
    );

    // Apply, then download the active project in active mode (EPRT).
    running.store.apply(&running.controller, "test").unwrap();
    assert_eq!(running.controller.project().project.name, "Room via curl");
    let (ok, out, err) = curl(&[
        "--user",
        &creds,
        "-P",
        "127.0.0.1",
        &url(addr, "active.toml"),
    ])
    .await;
    assert!(ok, "curl active-mode download failed: {err}");
    assert_eq!(out, text);
    // And the previous project is there for rollback.
    let (ok, out, _) = curl(&["--user", &creds, &url(addr, "previous.toml")]).await;
    assert!(ok && out.contains("Demo meeting room"));

    // Wrong password and anonymous are refused.
    let (ok, _, _) = curl(&[
        "--user",
        &format!("{ADMIN}:wrong-password"),
        &url(addr, "active.toml"),
    ])
    .await;
    assert!(!ok, "a wrong password was accepted");
    let (ok, _, _) = curl(&[&url(addr, "active.toml")]).await;
    assert!(!ok, "anonymous login was accepted");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ftplib_passive_and_active() {
    let h = TestSettings::upload((41050, 41099));
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    let script = h.dir.path().join("ftp.py");
    std::fs::write(&script, FTPLIB).unwrap();
    for (mode, name) in [("passive", "Room passive"), ("active", "Room active")] {
        let file = h.dir.path().join(format!("{mode}.toml"));
        let text = project(name, 3);
        std::fs::write(&file, &text).unwrap();
        let port = addr.port().to_string();
        let (ok, out, err) = run(
            "python3",
            &[
                script.to_str().unwrap(),
                "127.0.0.1",
                &port,
                ADMIN,
                ADMIN_PW,
                mode,
                file.to_str().unwrap(),
            ],
        )
        .await;
        assert!(ok, "ftplib {mode} failed: {out}\n{err}");
        assert!(out.contains("'pending.toml'"), "{mode}: {out}");
        assert!(
            out.contains(&format!("PENDING {}", text.len())),
            "{mode}: {out}"
        );
        let applied = running.store.apply(&running.controller, "test").unwrap();
        assert_eq!(applied.project.name, name);
    }
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_project_is_refused_and_the_old_one_keeps_running() {
    let mut h = TestSettings::upload((41100, 41119));
    h.settings.project.auto_apply = true;
    h.settings.ftp.max_upload_bytes = 200_000;
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    let creds = format!("{ADMIN}:{ADMIN_PW}");
    let before = running.controller.revision();

    let bad = h.dir.path().join("bad.toml");
    std::fs::write(&bad, bad_project()).unwrap();
    let (ok, _, err) = curl(&[
        "--user",
        &creds,
        "-T",
        bad.to_str().unwrap(),
        &url(addr, "bad.toml"),
    ])
    .await;
    assert!(!ok, "an invalid project was accepted");
    assert!(err.contains("551"), "curl: {err}");
    assert_eq!(
        running.controller.project().project.name,
        "Demo meeting room"
    );
    assert_eq!(running.controller.revision(), before, "nothing was applied");
    assert!(!h.project_dir().join("pending.toml").exists());
    // The errors, with line and field, are in the report, the log (status page).
    let (_, report, _) = curl(&["--user", &creds, &url(addr, "upload-report.txt")]).await;
    assert!(
        report.starts_with("REFUSED") && report.contains("line"),
        "report: {report}"
    );
    let log = running.controller.log().recent(10).join("\n");
    assert!(
        log.contains("refused") && log.contains("toggel"),
        "log: {log}"
    );

    // Too large: refused with 552, nothing stored.
    let big = h.dir.path().join("big.toml");
    std::fs::write(&big, "#".repeat(300_000)).unwrap();
    let (ok, _, err) = curl(&[
        "--user",
        &creds,
        "-T",
        big.to_str().unwrap(),
        &url(addr, "big.toml"),
    ])
    .await;
    // The server answers 552 and closes the data connection; curl reports
    // either that reply or, when it was still sending, a reset.
    assert!(
        !ok && (err.contains("Exceeded storage") || err.contains("(55)")),
        "oversize upload: {err}"
    );
    assert!(
        !h.project_dir().join("pending.toml").exists(),
        "nothing of an oversized upload is stored"
    );
    assert_eq!(
        running.controller.project().project.name,
        "Demo meeting room"
    );
    assert_eq!(running.controller.revision(), before, "nothing was applied");

    // A viewer may download but not upload.
    let good = h.dir.path().join("good.toml");
    std::fs::write(&good, project("Good", 4)).unwrap();
    let viewer = format!("{VIEWER}:{VIEWER_PW}");
    let (ok, _, _) = curl(&[
        "--user",
        &viewer,
        "-T",
        good.to_str().unwrap(),
        &url(addr, "good.toml"),
    ])
    .await;
    assert!(!ok, "a viewer uploaded");
    assert_eq!(
        running.controller.project().project.name,
        "Demo meeting room"
    );

    // A good upload with auto_apply runs at once.
    let (ok, _, err) = curl(&[
        "--user",
        &creds,
        "-T",
        good.to_str().unwrap(),
        &url(addr, "good.toml"),
    ])
    .await;
    assert!(ok, "{err}");
    assert_eq!(running.controller.project().project.name, "Good");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_symlinks_and_bounce_are_refused() {
    let h = TestSettings::upload((41120, 41139));
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    std::fs::create_dir_all(h.project_dir()).unwrap();
    // A planted symlink must not be served.
    std::os::unix::fs::symlink(h.settings_file(), h.project_dir().join("pending.toml")).unwrap();

    let mut c = Control::login(addr, ADMIN, ADMIN_PW).await;
    // Bounce: PORT/EPRT to any host but the client, or to a privileged port.
    for cmd in [
        "PORT 192,0,2,1,0,80",
        "PORT 127,0,0,2,200,10",
        "PORT 127,0,0,1,0,22",
        "EPRT |1|192.0.2.1|8080|",
        "EPRT |2|::1|8080|",
    ] {
        let r = c.cmd(cmd).await;
        assert!(r.starts_with("504") || r.starts_with("522"), "{cmd} -> {r}");
    }
    assert!(c.cmd("PORT 1,2,3").await.starts_with("501"));
    // Traversal: nothing outside the project area is reachable.
    assert!(c.cmd("CWD ..").await.starts_with("550"));
    assert!(c.cmd("CWD /etc").await.starts_with("550"));
    assert!(c.cmd("SIZE ../roomctl.toml").await.starts_with("550"));
    assert!(c.cmd("SIZE /../roomctl.toml").await.starts_with("550"));
    assert!(
        c.cmd("SIZE pending.toml").await.starts_with("550"),
        "symlink served"
    );
    assert!(c.cmd("MKD x").await.starts_with("550"));
    assert!(c.cmd("DELE active.toml").await.starts_with("550"));
    assert!(c.cmd("PWD").await.starts_with("257"));
    // A plain overlong line closes the session without harm.
    let long = "X".repeat(10_000);
    c.send_raw(long.as_bytes()).await;
    let r = c.reply().await;
    assert!(r.starts_with("500"), "{r}");
    // The service is still there for the next client.
    let mut c2 = Control::login(addr, ADMIN, ADMIN_PW).await;
    assert!(c2.cmd("NOOP").await.starts_with("200"));
    running.shutdown().await;
}

/// Defect 9: another address that connects to the announced passive port
/// first gets nothing; the client's own data connection is the one served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passive_port_grabbed_by_another_address_does_not_take_the_transfer() {
    use tokio::io::AsyncReadExt;
    let h = TestSettings::upload((52170, 52179));
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    let mut c = Control::login(addr, ADMIN, ADMIN_PW).await;
    let pasv = c.cmd("PASV").await;
    assert!(pasv.starts_with("227"), "{pasv}");
    let port = support::ftp::pasv_port(&pasv);

    // 127.0.0.2 is another address of this machine (all of 127/8 is
    // loopback): it connects to the announced port before the client.
    let thief = tokio::net::TcpSocket::new_v4().unwrap();
    thief.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let stolen = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        thief.connect(std::net::SocketAddr::new(addr.ip(), port)),
    )
    .await;
    assert!(
        !matches!(stolen, Ok(Ok(_))),
        "another address got the client's data connection"
    );

    // The client's own connection carries the listing, and the transfer ends.
    let mut data = tokio::net::TcpStream::connect((addr.ip(), port))
        .await
        .unwrap();
    let said = c.cmd("NLST").await;
    assert!(said.starts_with("150") || said.starts_with("125"), "{said}");
    let mut listing = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        data.read_to_string(&mut listing),
    )
    .await
    .expect("the listing arrives")
    .unwrap();
    let done = c.reply().await;
    assert!(done.starts_with("226"), "{done}");
    running.shutdown().await;
}

/// Python's ftplib from `source` (another address than the server's):
/// STOR, LIST and RETR in passive mode, then in active mode.
const FTPLIB_FROM: &str = r#"
import ftplib, io, sys
host, port, source, user, pw, upload = sys.argv[1:7]
for label, passive in [("passive", True), ("active", False)]:
    ftp = ftplib.FTP(source_address=(source, 0))
    ftp.connect(host, int(port), timeout=20)
    ftp.login(user, pw)
    ftp.set_pasv(passive)
    with open(upload, "rb") as f:
        ftp.storbinary("STOR room.toml", f)
    lines = []
    ftp.retrlines("LIST", lines.append)
    print(label, "LISTED", any("pending.toml" in l for l in lines))
    data = io.BytesIO()
    ftp.retrbinary("RETR pending.toml", data.write)
    print(label, "RETR", len(data.getvalue()))
    ftp.quit()
"#;

/// Runs [`FTPLIB_FROM`] and curl FTPS from `source` against `host:port`:
/// plain passive and active, then FTPS (protected data) upload, listing
/// and download. `cert` is the controller's certificate.
async fn ftp_from(h: &TestEnv, source: &str, host: &str, port: u16, cert: &std::path::Path) {
    let script = h.dir.path().join("ftp_from.py");
    std::fs::write(&script, FTPLIB_FROM).unwrap();
    let file = h.dir.path().join("from.toml");
    let text = project("Room from another host", 6);
    std::fs::write(&file, &text).unwrap();
    let (ok, out, err) = run(
        "timeout",
        &[
            "60",
            "python3",
            script.to_str().unwrap(),
            host,
            &port.to_string(),
            source,
            ADMIN,
            ADMIN_PW,
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "ftplib from {source}: {out}\n{err}");
    for mode in ["passive", "active"] {
        assert!(out.contains(&format!("{mode} LISTED True")), "{out}");
        assert!(
            out.contains(&format!("{mode} RETR {}", text.len())),
            "{out}"
        );
    }

    // FTPS: the control and the data connections under TLS.
    let url = |path: &str| format!("ftp://{host}:{port}/{path}");
    let creds = format!("{ADMIN}:{ADMIN_PW}");
    let ftps = |extra: &[&str]| -> Vec<String> {
        [
            "-sS",
            "--max-time",
            "60",
            "--interface",
            source,
            "--ssl-reqd",
            "--cacert",
            cert.to_str().unwrap(),
            "--user",
            &creds,
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
    };
    let tls_text = project("Room over FTPS from another host", 7);
    std::fs::write(&file, &tls_text).unwrap();
    let args = ftps(&["-T", file.to_str().unwrap(), &url("room.toml")]);
    let (ok, _, err) = run("curl", &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(ok, "FTPS upload from {source}: {err}");
    let args = ftps(&["--list-only", &url("")]);
    let (ok, out, err) = run("curl", &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(
        ok && out.contains("pending.toml"),
        "FTPS list from {source}: {out}{err}"
    );
    let args = ftps(&[&url("pending.toml")]);
    let (ok, out, err) = run("curl", &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(ok, "FTPS download from {source}: {err}");
    assert_eq!(out, tls_text);
}

/// Issue 20, 1: a client on another address than the server's (here
/// 127.0.0.2 against 127.0.0.1) lists, downloads and uploads, passive,
/// active and over FTPS; the log and the audit trail name its address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_from_another_address_lists_downloads_and_uploads() {
    let h = TestSettings::upload((41140, 41159));
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    let cert = h.dir.path().join("tls").join("cert.pem");
    ftp_from(&h, OTHER_ADDRESS, "127.0.0.1", addr.port(), &cert).await;
    let pending = std::fs::read_to_string(h.project_dir().join("pending.toml")).unwrap();
    assert!(pending.contains("Room over FTPS from another host"));
    let log = running.controller.log().recent(50).join("\n");
    assert!(
        log.contains(OTHER_ADDRESS),
        "the log names the client: {log}"
    );
    running.shutdown().await;
}

/// Issue 20, 2: a transfer whose data connection never comes is answered
/// 425 after `[ftp] data_timeout_secs`, not left hanging after its 150;
/// the session goes on, and the next transfer works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_without_its_data_connection_gets_425() {
    use tokio::io::AsyncWriteExt;
    let mut h = TestSettings::upload((41160, 41179));
    h.settings.ftp.data_timeout_secs = 1;
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    let mut c = Control::login_from(OTHER_ADDRESS, addr, ADMIN, ADMIN_PW).await;
    for (open, transfer) in [
        ("PASV", "RETR active.toml"),
        ("EPSV", "STOR room.toml"),
        ("PASV", "LIST"),
    ] {
        let r = c.cmd(open).await;
        assert!(r.starts_with("227") || r.starts_with("229"), "{open}: {r}");
        // The client never opens the data connection.
        let started = c.cmd(transfer).await;
        let answer = if started.starts_with("150") || started.starts_with("125") {
            c.reply().await
        } else {
            started
        };
        assert!(answer.starts_with("425"), "{transfer}: {answer}");
    }
    assert!(c.cmd("NOOP").await.starts_with("200"));
    // The next transfer, with its data connection, works.
    let pasv = c.cmd("PASV").await;
    let mut data = support::connect_from(
        OTHER_ADDRESS,
        std::net::SocketAddr::new(addr.ip(), support::ftp::pasv_port(&pasv)),
    )
    .await;
    let said = c.cmd("STOR room.toml").await;
    assert!(said.starts_with("150") || said.starts_with("125"), "{said}");
    let text = project("Stored after a 425", 3);
    data.write_all(text.as_bytes()).await.unwrap();
    data.shutdown().await.unwrap();
    drop(data);
    let done = c.reply().await;
    assert!(done.starts_with("226"), "{done}");
    assert_eq!(
        std::fs::read_to_string(h.project_dir().join("pending.toml")).unwrap(),
        text
    );
    running.shutdown().await;
}

/// Issue 20, 1 on a LAN: the server on 10.77.0.1, the client on 10.77.0.2
/// (a veth pair in the test's own namespace): LIST, RETR, STOR passive and
/// active, FTPS, and `roomctl project push` to the LAN address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_and_project_push_over_a_lan_address() {
    use support::netns::{in_namespace, Loopback, VETH_CLIENT, VETH_SERVER};
    if !in_namespace(
        "ftp_and_project_push_over_a_lan_address",
        Loopback::VethPair,
    ) {
        return;
    }
    let mut h = TestSettings::upload((41180, 41199));
    h.settings.ftp.bind = VETH_SERVER.parse().unwrap();
    h.settings.telnet.bind = VETH_SERVER.parse().unwrap();
    h.settings.tls.names = vec![VETH_SERVER.into()];
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    assert_eq!(addr.ip().to_string(), VETH_SERVER);
    let cert = h.dir.path().join("tls").join("cert.pem");
    ftp_from(&h, VETH_CLIENT, VETH_SERVER, addr.port(), &cert).await;

    // roomctl project push to the LAN address, and --apply.
    let file = h.dir.path().join("pushed.toml");
    std::fs::write(&file, project("Pushed over the LAN", 8)).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomctl"))
        .args([
            "project",
            "push",
            VETH_SERVER,
            "--user",
            ADMIN,
            "--ftp-port",
            &addr.port().to_string(),
            "--telnet-port",
            &running.addrs.telnet.unwrap().port().to_string(),
            "--password-stdin",
            file.to_str().unwrap(),
            "--apply",
        ])
        .env_remove("ROOMCTL_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{ADMIN_PW}\n").as_bytes())
            .await
            .unwrap();
    }
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("roomctl project push finishes")
    .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "push: {stdout}\n{stderr}");
    assert_eq!(
        running.controller.project().project.name,
        "Pushed over the LAN"
    );
    running.shutdown().await;
}

/// Issue 20, 4: a viewer's download of the project shows no panel PIN;
/// an admin's shows it (secrets go only to admins).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_downloads_the_project_without_its_pins() {
    let h = TestSettings::upload((41200, 41209));
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    let with_pin =
        project("Room with a PIN", 2).replacen("[[panels]]\n", "[[panels]]\npin = \"482913\"\n", 1);
    assert!(with_pin.contains("482913"));
    std::fs::create_dir_all(h.project_dir()).unwrap();
    std::fs::write(h.project_dir().join("pending.toml"), &with_pin).unwrap();
    running.store.apply(&running.controller, "test").unwrap();

    let download = |user: &'static str, pw: &'static str| {
        let creds = format!("{user}:{pw}");
        let url = url(addr, "active.toml");
        async move {
            let (ok, out, err) = curl(&[
                "--max-time",
                "60",
                "--interface",
                OTHER_ADDRESS,
                "--user",
                &creds,
                &url,
            ])
            .await;
            assert!(ok, "{user}: {err}");
            out
        }
    };
    let viewer = download(VIEWER, VIEWER_PW).await;
    assert!(
        !viewer.contains("482913"),
        "a viewer read the PIN: {viewer}"
    );
    assert!(viewer.contains("Room with a PIN") && viewer.contains("pin = "));
    let admin = download(ADMIN, ADMIN_PW).await;
    assert_eq!(admin, with_pin, "an admin gets the file as it is");
    running.shutdown().await;
}
