//! Encryption as an IT administrator checks it, with curl as the client:
//! HTTPS with the certificate generated at first start (verified with
//! `--cacert`, refused without it), `Secure` session cookies over TLS, the
//! LAN profile's refusal of admin logins over plain HTTP (with a pointer
//! to HTTPS), and FTPS (explicit `AUTH TLS`) with `[ftp] require_tls`.
//! Every controller here listens on loopback only.

use crate::support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use roomctl::config::{Profile, Settings};
use roomctl::security::auth::Role;
use support::ftp::Control;
use support::http::{get, post_form};
use support::*;

/// The certificate the controller generated (beside its project directory).
fn generated_cert(h: &TestEnv) -> PathBuf {
    h.dir.path().join("tls").join("cert.pem")
}

/// curl over HTTPS trusting `cert`: (exit ok, headers and body, stderr).
async fn curl_https(cert: &Path, args: &[&str]) -> (bool, String, String) {
    let cert = cert.to_str().unwrap();
    run("curl", &[&["-sS", "-i", "--cacert", cert], args].concat()).await
}

fn https_base(addr: SocketAddr) -> String {
    format!("https://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_the_generated_certificate_and_secure_cookies() {
    let h = TestSettings::only(&["panel", "https"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .in_tempdir();
    let running = h.start().await;
    let https = running.addrs.https.expect("https is on");
    let base = https_base(https);
    let cert = generated_cert(&h);
    assert!(cert.exists(), "a certificate is generated at first start");

    // The status page, verified against the generated certificate.
    let (ok, out, err) = curl_https(&cert, &[&format!("{base}/status")]).await;
    assert!(ok, "curl with --cacert: {err}");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("Log in"), "{out}");

    // Without the certificate, verification fails (self-signed, unknown).
    let (ok, _, err) = run("curl", &["-sS", &format!("{base}/status")]).await;
    assert!(!ok, "curl trusted a certificate it was not given");
    assert!(err.contains("certificate"), "{err}");

    // Logged in over TLS: the session cookie is Secure; the status page
    // lists the HTTPS service.
    let jar = h.dir.path().join("jar");
    let jar = jar.to_str().unwrap();
    let (ok, out, err) = curl_https(
        &cert,
        &[
            "-c",
            jar,
            "-H",
            &format!("Origin: {base}"),
            "-d",
            &format!("user={ADMIN}&password={ADMIN_PW}&next=/status"),
            &format!("{base}/login"),
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.starts_with("HTTP/1.1 303"), "{out}");
    let cookie = out
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {out}"));
    assert!(cookie.trim_end().ends_with("; Secure"), "{cookie}");
    let (ok, out, err) = curl_https(&cert, &["-b", jar, &format!("{base}/status")]).await;
    assert!(ok, "{err}");
    assert!(out.contains("https") && out.contains("(TLS)"), "{out}");

    // Over plain HTTP (development profile) an admin may log in, and the
    // cookie is not Secure (the browser would not send it back over HTTP).
    let panel = running.addrs.panel.unwrap();
    let (status, answer) = post_form(
        panel,
        "/login",
        &format!("user={ADMIN}&password={ADMIN_PW}"),
    )
    .await;
    assert_eq!(status, 303, "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
    running.shutdown().await;

    // A restart reuses the certificate.
    let pem = std::fs::read(&cert).unwrap();
    let running = h.start().await;
    assert_eq!(std::fs::read(&cert).unwrap(), pem);
    let base = https_base(running.addrs.https.unwrap());
    let (ok, _, err) = curl_https(&cert, &[&format!("{base}/healthz")]).await;
    assert!(ok, "{err}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lan_profile_refuses_admin_logins_over_plain_http() {
    let lan = Settings::defaults(Profile::Lan);
    assert_eq!(lan.https.port, 443);
    assert!(lan.https.admin_requires_https);
    assert!(
        !Settings::defaults(Profile::Development)
            .https
            .admin_requires_https
    );
    // The LAN profile's rule, on loopback addresses and free ports.
    let h = TestSettings::only(&["panel", "https"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .user(VIEWER, Role::Viewer, VIEWER_PW)
        .edit(|s| {
            s.network.profile = Profile::Lan;
            s.https.admin_requires_https = lan.https.admin_requires_https;
        })
        .in_tempdir();
    let running = h.start().await;
    let panel = running.addrs.panel.unwrap();
    let https = running.addrs.https.unwrap();
    let pointer = format!("https://127.0.0.1:{}/login", https.port());

    // The plain form points admins to HTTPS.
    let (status, page) = get(panel, "/login").await;
    assert_eq!(status, 200);
    assert!(page.contains(&pointer), "{page}");

    // An admin's login over plain HTTP is refused, with the pointer, and
    // no session is opened.
    let (status, answer) = post_form(
        panel,
        "/login",
        &format!("user={ADMIN}&password={ADMIN_PW}"),
    )
    .await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains(&pointer), "{answer}");
    assert!(!answer.contains("set-cookie"), "{answer}");

    // A viewer (no admin rights to steal) still logs in over plain HTTP.
    let (status, answer) = post_form(
        panel,
        "/login",
        &format!("user={VIEWER}&password={VIEWER_PW}"),
    )
    .await;
    assert_eq!(status, 303, "{answer}");

    // Over HTTPS the admin logs in.
    let base = https_base(https);
    let (ok, out, err) = curl_https(
        &generated_cert(&h),
        &[
            "-H",
            &format!("Origin: {base}"),
            "-d",
            &format!("user={ADMIN}&password={ADMIN_PW}"),
            &format!("{base}/login"),
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.starts_with("HTTP/1.1 303"), "{out}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installer_certificate_is_used_as_given() {
    // A certificate made elsewhere (here: by a first controller) and
    // named in [tls]: the second controller serves exactly it.
    let first = TestSettings::only(&["https"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .in_tempdir();
    first.start().await.shutdown().await;
    let cert = generated_cert(&first);
    let key = first.dir.path().join("tls").join("key.pem");
    let mut h = TestSettings::only(&["https"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .in_tempdir();
    h.settings.tls.cert_file = Some(cert.clone());
    h.settings.tls.key_file = Some(key);
    let running = h.start().await;
    assert!(!generated_cert(&h).exists(), "nothing generated");
    let base = https_base(running.addrs.https.unwrap());
    let (ok, _, err) = curl_https(&cert, &[&format!("{base}/healthz")]).await;
    assert!(ok, "{err}");
    running.shutdown().await;
}

/// curl FTPS (explicit AUTH TLS, protected data) trusting `cert`.
async fn curl_ftps(cert: &Path, args: &[&str]) -> (bool, String, String) {
    let cert = cert.to_str().unwrap();
    run(
        "curl",
        &[&["-sS", "--ssl-reqd", "--cacert", cert], args].concat(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftps_with_auth_tls_and_require_tls() {
    let mut h = TestSettings::upload((41760, 41779));
    h.settings.ftp.require_tls = true;
    let running = h.start().await;
    let addr = running.addrs.ftp.expect("ftp is on");
    let cert = generated_cert(&h);
    let creds = format!("{ADMIN}:{ADMIN_PW}");

    // Upload and download over FTPS, the data protected too.
    let file = h.dir.path().join("room.toml");
    let text = project("Room via FTPS", 3);
    std::fs::write(&file, &text).unwrap();
    let (ok, _, err) = curl_ftps(
        &cert,
        &[
            "--user",
            &creds,
            "-T",
            file.to_str().unwrap(),
            &format!("ftp://{addr}/room.toml"),
        ],
    )
    .await;
    assert!(ok, "curl FTPS upload: {err}");
    assert_eq!(
        std::fs::read_to_string(h.project_dir().join("pending.toml")).unwrap(),
        text
    );
    let (ok, out, err) = curl_ftps(
        &cert,
        &["--user", &creds, &format!("ftp://{addr}/pending.toml")],
    )
    .await;
    assert!(ok, "curl FTPS download: {err}");
    assert_eq!(out, text);

    // Without the certificate, curl does not trust the server.
    let (ok, _, _) = run(
        "curl",
        &[
            "-sS",
            "--ssl-reqd",
            "--user",
            &creds,
            &format!("ftp://{addr}/pending.toml"),
        ],
    )
    .await;
    assert!(!ok, "curl trusted an unknown certificate");

    // A plain login is refused with a reply that says what to do.
    let mut c = Control::connect(addr).await;
    let r = c.cmd(&format!("USER {ADMIN}")).await;
    assert!(r.starts_with("534") && r.contains("AUTH TLS"), "{r}");
    let r = c.cmd(&format!("PASS {ADMIN_PW}")).await;
    assert!(r.starts_with("534"), "{r}");
    // And plain curl fails too.
    let (ok, _, _) = run(
        "curl",
        &[
            "-sS",
            "--user",
            &creds,
            &format!("ftp://{addr}/pending.toml"),
        ],
    )
    .await;
    assert!(!ok, "a plain FTP login got through with require_tls");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftps_is_offered_while_plain_ftp_still_works() {
    let h = TestSettings::upload((41780, 41789));
    let running = h.start().await;
    let addr = running.addrs.ftp.unwrap();
    let creds = format!("{ADMIN}:{ADMIN_PW}");
    let mut c = Control::connect(addr).await;
    let feat = c.cmd("FEAT").await;
    assert!(feat.contains("AUTH TLS"), "{feat}");
    drop(c);
    let (ok, over_tls, err) = curl_ftps(
        &generated_cert(&h),
        &["--user", &creds, "--list-only", &format!("ftp://{addr}/")],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, plain, err) = run(
        "curl",
        &[
            "-sS",
            "--user",
            &creds,
            "--list-only",
            &format!("ftp://{addr}/"),
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(over_tls, plain);
    running.shutdown().await;
}
