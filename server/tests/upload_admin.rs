//! The admin page with curl as the browser: log in, upload (multipart, as
//! the page's form sends it), validate, apply, roll back, download. Loopback.

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_upload_validate_apply_rollback() {
    let mut h = TestSettings::upload((41320, 41329));
    h.settings.panel.enabled = true;
    let running = h.start().await;
    let base = format!("http://{}", running.addrs.panel.unwrap());
    let jar = h.dir.path().join("cookies");
    let jar = jar.to_str().unwrap();
    let origin = format!("Origin: {base}");
    let origin = origin.as_str();
    let curl = |args: &[&str]| {
        // curl stands for the browser on the controller's own page.
        let mut v = vec![
            "-sS",
            "-b",
            jar,
            "-c",
            jar,
            "-H",
            origin,
            "-w",
            "\nHTTP %{http_code}\n",
        ];
        v.extend_from_slice(args);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let call = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out, err) = run("curl", &args).await;
        assert!(ok, "curl: {err}");
        out
    };

    let page = call(curl(&[&format!("{base}/admin")])).await;
    assert!(
        page.contains("action=\"/admin/api/upload\"") && page.contains("HTTP 200"),
        "{page}"
    );

    // Nothing without a login; a wrong password or a non-admin is refused.
    let file = h.dir.path().join("room.toml");
    std::fs::write(&file, project("Web room", 11)).unwrap();
    let form = format!("project=@{}", file.display());
    let out = call(curl(&["-F", &form, &format!("{base}/admin/api/upload")])).await;
    assert!(out.contains("HTTP 401"), "{out}");
    // The page's login form is the shared /login: a wrong password sends the
    // browser back to the form; a viewer logs in but may not use the admin page.
    let out = call(curl(&[
        "-D",
        "-",
        "-d",
        &format!("user={ADMIN}&password=wrong&next=/admin"),
        &format!("{base}/login"),
    ]))
    .await;
    assert!(out.contains("HTTP 303") && out.contains("error=1"), "{out}");
    let out = call(curl(&["-X", "POST", &format!("{base}/admin/api/apply")])).await;
    assert!(out.contains("HTTP 401"), "{out}");
    let out = call(curl(&[
        "-d",
        &format!("user={VIEWER}&password={VIEWER_PW}&next=/admin"),
        &format!("{base}/login"),
    ]))
    .await;
    assert!(out.contains("HTTP 303"), "{out}");
    let out = call(curl(&["-X", "POST", &format!("{base}/admin/api/apply")])).await;
    assert!(out.contains("HTTP 401"), "a viewer is not an admin: {out}");
    let out = call(curl(&[
        "-D",
        "-",
        "-d",
        &format!("user={ADMIN}&password={ADMIN_PW}&next=/admin"),
        &format!("{base}/login"),
    ]))
    .await;
    assert!(
        out.contains("HTTP 303") && out.contains("location: /admin"),
        "{out}"
    );

    // A bad project: refused with line and field, nothing changes.
    let bad = h.dir.path().join("bad.toml");
    std::fs::write(&bad, bad_project()).unwrap();
    let out = call(curl(&[
        "-F",
        &format!("project=@{}", bad.display()),
        &format!("{base}/admin/api/upload"),
    ]))
    .await;
    assert!(
        out.contains("HTTP 422") && out.contains("line") && out.contains("toggel"),
        "{out}"
    );
    assert_eq!(
        running.controller.project().project.name,
        "Demo meeting room"
    );

    let out = call(curl(&["-F", &form, &format!("{base}/admin/api/upload")])).await;
    assert!(
        out.contains("HTTP 200") && out.contains("Web room"),
        "{out}"
    );
    let out = call(curl(&["-X", "POST", &format!("{base}/admin/api/validate")])).await;
    assert!(
        out.contains("HTTP 200") && out.contains("revision 11"),
        "{out}"
    );
    let out = call(curl(&["-X", "POST", &format!("{base}/admin/api/apply")])).await;
    assert!(out.contains("Now running &quot;Web room&quot;"), "{out}");
    assert_eq!(running.controller.project().project.name, "Web room");
    let out = call(curl(&[&format!("{base}/admin/api/project/active")])).await;
    assert!(out.starts_with(&project("Web room", 11)), "{out}");
    let out = call(curl(&[&format!("{base}/admin/api/info")])).await;
    assert!(
        out.contains("previous:  &quot;Demo meeting room&quot;"),
        "{out}"
    );
    let out = call(curl(&["-X", "POST", &format!("{base}/admin/api/rollback")])).await;
    assert!(out.contains("HTTP 200"), "{out}");
    assert_eq!(
        running.controller.project().project.name,
        "Demo meeting room"
    );

    // Logged out: refused again.
    call(curl(&["-X", "POST", &format!("{base}/logout")])).await;
    let out = call(curl(&["-X", "POST", &format!("{base}/admin/api/apply")])).await;
    assert!(out.contains("HTTP 401"), "{out}");
    running.shutdown().await;
}
