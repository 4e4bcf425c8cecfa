//! What every HTTP answer carries, checked on the wire: compression (br,
//! gzip; files compressed at build time sent as they are), revalidation
//! (`Last-Modified` → 304), security headers (a CSP whose nonce is the one
//! on the page's scripts, nosniff, no framing, referrer policy), the body
//! limit (413) and the request deadline (408). Loopback only.
//!
//! The static files come from a site root this test writes (the real one
//! is built after the cargo tests by scripts/build-site.sh).

mod support;

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use roomctl::runtime::serve::Running;
use support::TestSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A site root with `pkg/roomctl.js` (and its build-time `.br` and `.gz`),
/// shared by every test of this binary (the site root is process-wide).
fn site() -> &'static PathBuf {
    static SITE: OnceLock<PathBuf> = OnceLock::new();
    SITE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("roomctl-layers-site-{}", std::process::id()));
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("roomctl.js"), script()).unwrap();
        let mut br = Vec::new();
        brotli::BrotliCompress(
            &mut &script()[..],
            &mut br,
            &brotli::enc::BrotliEncoderParams::default(),
        )
        .unwrap();
        std::fs::write(pkg.join("roomctl.js.br"), br).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &script()).unwrap();
        std::fs::write(pkg.join("roomctl.js.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(
            pkg.join("roomctl.css"),
            "body { color: black; }\n".repeat(200),
        )
        .unwrap();
        // Set once, before any controller of this binary reads it.
        std::env::set_var("LEPTOS_SITE_ROOT", &dir);
        dir
    })
}

/// The stand-in for the panel's JS: long and repetitive, as JS is.
fn script() -> Vec<u8> {
    (0..2000)
        .map(|i| format!("export function f{i}(a) {{ return a + {i}; }}\n"))
        .collect::<String>()
        .into_bytes()
}

async fn start(extra: &str) -> Running {
    site();
    TestSettings::only(&["panel"])
        .toml(extra)
        .start_demo()
        .await
}

/// One request; (status, head, body bytes).
async fn fetch(addr: SocketAddr, request: &str) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("an answer in time")
        .unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {:?}", String::from_utf8_lossy(&out)));
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}

fn get(addr: SocketAddr, path: &str, headers: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n")
}

/// A header's value (names in any case).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).unwrap();
    out
}

/// Chunked bodies (dynamic compression streams) decoded to their bytes.
fn dechunk(body: &[u8], head: &str) -> Vec<u8> {
    if header(head, "transfer-encoding") != Some("chunked") {
        return body.to_vec();
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[end + 2..end + 2 + size]);
        rest = &rest[end + 2 + size + 2..];
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_come_precompressed_and_revalidate_with_304() {
    let running = start("").await;
    let addr = running.addrs.panel.unwrap();
    let original = script();

    let (status, head, plain) = fetch(addr, &get(addr, "/pkg/roomctl.js", "")).await;
    assert_eq!(status, 200);
    assert_eq!(plain, original);
    assert_eq!(header(&head, "cache-control"), Some("no-cache"), "{head}");

    // br: the build's .br as it is, smaller, decoding to the file.
    let (_, head, br) = fetch(
        addr,
        &get(addr, "/pkg/roomctl.js", "Accept-Encoding: br\r\n"),
    )
    .await;
    assert_eq!(header(&head, "content-encoding"), Some("br"), "{head}");
    assert!(
        br.len() < original.len() / 4,
        "{} of {}",
        br.len(),
        original.len()
    );
    assert_eq!(unbrotli(&br), original);
    // gzip: the .gz.
    let (_, head, gz) = fetch(
        addr,
        &get(addr, "/pkg/roomctl.js", "Accept-Encoding: gzip\r\n"),
    )
    .await;
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    assert!(gz.len() < original.len() / 4);
    assert_eq!(gunzip(&gz), original);

    // A file without a build-time copy is compressed on the fly.
    let (_, head, body) = fetch(
        addr,
        &get(addr, "/pkg/roomctl.css", "Accept-Encoding: gzip\r\n"),
    )
    .await;
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    let css = gunzip(&dechunk(&body, &head));
    assert_eq!(css, "body { color: black; }\n".repeat(200).into_bytes());

    // A reload: unchanged since Last-Modified → 304, no body.
    let (_, head, _) = fetch(addr, &get(addr, "/pkg/roomctl.js", "")).await;
    let modified = header(&head, "last-modified")
        .expect("last-modified")
        .to_string();
    let (status, _, body) = fetch(
        addr,
        &get(
            addr,
            "/pkg/roomctl.js",
            &format!("If-Modified-Since: {modified}\r\n"),
        ),
    )
    .await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_compressed_and_carry_security_headers() {
    let running = start("").await;
    let addr = running.addrs.panel.unwrap();
    let (status, head, body) = fetch(addr, &get(addr, "/", "Accept-Encoding: gzip\r\n")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
    let html = String::from_utf8(gunzip(&dechunk(&body, &head))).unwrap();
    assert!(html.contains("Demo meeting room"));

    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&head, "x-frame-options"), Some("DENY"));
    assert_eq!(header(&head, "referrer-policy"), Some("same-origin"));
    assert_eq!(header(&head, "cache-control"), Some("no-store"));
    let csp = header(&head, "content-security-policy").expect("a CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // The page's scripts carry the nonce the policy allows.
    let nonce = html
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the hydration script has a nonce");
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");
    // Each page load its own nonce.
    let (_, again, _) = fetch(addr, &get(addr, "/", "")).await;
    assert_ne!(header(&again, "content-security-policy"), Some(csp));

    // Other answers: the strict policy, same headers.
    let (_, head, _) = fetch(addr, &get(addr, "/login", "")).await;
    let csp = header(&head, "content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert_eq!(header(&head, "x-frame-options"), Some("DENY"));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_and_slow_ones_408() {
    let running = start("[panel]\nmax_body_bytes = 4096\nrequest_timeout_secs = 1\n[ftp]\nmax_upload_bytes = 1024\n").await;
    let addr = running.addrs.panel.unwrap();
    let post = |length: usize, body: &str| {
        format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{body}"
        )
    };
    let (status, _, _) = fetch(addr, &post(1 << 20, "")).await;
    assert_eq!(status, 413);
    // A body announced but never sent: the request deadline answers.
    let (status, _, _) = fetch(addr, &post(100, "user=a")).await;
    assert_eq!(status, 408);
    // Within the limits, a request is answered as usual (a logout: no
    // password check, which takes longer than this deadline in a debug
    // build).
    let request = post(10, "0123456789").replacen("/login", "/logout", 1);
    let (status, _, _) = fetch(addr, &request).await;
    assert_eq!(status, 303);
    running.shutdown().await;
}
