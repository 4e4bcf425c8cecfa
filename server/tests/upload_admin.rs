//! The admin page with curl as the browser: log in, upload (multipart, as
//! the page's form sends it), validate, apply, roll back, download. Loopback.

use crate::support;

use support::*;

/// curl as a browser session: the cookie `jar`, the `origin` header (the
/// CSRF check of changing requests), `extra` options, then `args`;
/// (status, body).
async fn session_curl(jar: &str, origin: &str, extra: &[&str], args: Vec<String>) -> (u16, String) {
    let mut v: Vec<String> = ["-sS", "-b", jar, "-c", jar, "-H", origin]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    v.extend(args);
    v.extend(["-w".to_string(), "\n%{http_code}".to_string()]);
    let args: Vec<&str> = v.iter().map(String::as_str).collect();
    let (ok, out, err) = run("curl", &args).await;
    assert!(ok, "curl: {err}");
    let (body, code) = out.rsplit_once('\n').unwrap();
    (code.parse::<u16>().unwrap(), body.to_string())
}

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

/// The page's script's view of the admin API: JSON answers, the history
/// with who and how, a diff of two versions, restore as pending; and the
/// plain-form answers are styled pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_history_diff_and_restore_as_json() {
    let mut h = TestSettings::upload((43520, 43529));
    h.settings.panel.enabled = true;
    let running = h.start().await;
    let base = format!("http://{}", running.addrs.panel.unwrap());
    let jar = h.dir.path().join("cookies");
    let jar = jar.to_str().unwrap().to_string();
    // Changing requests name the controller's own origin (CSRF check).
    let origin = format!("Origin: {base}");
    let call =
        |args: Vec<String>| session_curl(&jar, &origin, &["-H", "Accept: application/json"], args);
    let s = |x: &str| x.to_string();

    let (code, body) = call(vec![format!("{base}/admin/api/history")]).await;
    assert_eq!(code, 401, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["ok"], false);
    assert!(json["text"].as_str().unwrap().contains("admin login"));

    call(vec![
        s("-d"),
        format!("user={ADMIN}&password={ADMIN_PW}&next=/admin"),
        format!("{base}/login"),
    ])
    .await;
    let (code, body) = call(vec![format!("{base}/admin/api/whoami")]).await;
    assert_eq!(
        (code, body.as_str()),
        (200, format!("{{\"user\":\"{ADMIN}\"}}").as_str())
    );

    for (name, rev) in [("One", 4), ("Two", 5)] {
        let file = h.dir.path().join("room.toml");
        std::fs::write(&file, project(name, rev)).unwrap();
        let (code, body) = call(vec![
            s("-F"),
            format!("project=@{}", file.display()),
            format!("{base}/admin/api/upload"),
        ])
        .await;
        assert_eq!(code, 200, "{body}");
        let (code, body) = call(vec![s("-X"), s("POST"), format!("{base}/admin/api/apply")]).await;
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (code, &json["ok"]),
            (200, &serde_json::Value::Bool(true)),
            "{body}"
        );
        assert!(json["text"].as_str().unwrap().contains(name));
    }
    let (code, body) = call(vec![format!("{base}/admin/api/history")]).await;
    assert_eq!(code, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{body}");
    assert_eq!(list[0]["id"], 2);
    assert_eq!(list[0]["name"], "Two");
    assert_eq!(list[0]["via"], "web");
    assert_eq!(list[0]["user"], ADMIN);
    assert_eq!(list[0]["action"], "apply");

    let (code, body) = call(vec![format!("{base}/admin/api/diff?from=1&to=running")]).await;
    assert_eq!(code, 200, "{body}");
    let d: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(d["changes"][0], "project renamed from \"One\" to \"Two\"");
    assert!(d["unified"].as_str().unwrap().contains("+name = \"Two\""));
    let (code, _) = call(vec![format!("{base}/admin/api/diff?from=1&to=77")]).await;
    assert_eq!(code, 404);

    let (code, body) = call(vec![
        s("-X"),
        s("POST"),
        format!("{base}/admin/api/restore/1"),
    ])
    .await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("is now the uploaded project"));
    assert_eq!(running.controller.project().project.name, "Two");
    assert!(running
        .store
        .read("pending.toml")
        .unwrap()
        .unwrap()
        .contains("name = \"One\""));

    // Without the script: a styled page in the site's stylesheet.
    let (ok, out, _) = run(
        "curl",
        &[
            "-sS",
            "-b",
            &jar,
            "-H",
            &origin,
            "-X",
            "POST",
            &format!("{base}/admin/api/restore/99"),
        ],
    )
    .await;
    assert!(ok);
    assert!(
        out.contains("href=\"/pkg/roomctl.css\"") && out.contains("class=\"admin-result error\""),
        "{out}"
    );
    assert!(
        out.contains("no project &quot;99&quot; in the history"),
        "{out}"
    );
    // Every page allows zoom (the panel blocks double-tap zoom with CSS
    // `touch-action`, not by disabling zoom, which axe-core flags).
    let (_, page, _) = run("curl", &["-sS", &format!("{base}/admin")]).await;
    assert!(
        page.contains("id=\"history-rows\"") && !page.contains("user-scalable=no"),
        "{page}"
    );
    let (_, panel, _) = run("curl", &["-sS", &format!("{base}/")]).await;
    assert!(!panel.contains("user-scalable=no"), "{panel}");
    running.shutdown().await;
}

/// `/designer`: only for an admin (the login form otherwise, back to the
/// designer after); it opens versions through `/admin/api/version/*`, and
/// what it uploads and applies is recorded in the history as the designer's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn designer_page_versions_and_via_designer() {
    let mut h = TestSettings::upload((43530, 43539));
    h.settings.panel.enabled = true;
    let running = h.start().await;
    let base = format!("http://{}", running.addrs.panel.unwrap());
    let jar = h.dir.path().join("cookies");
    let jar = jar.to_str().unwrap().to_string();
    let origin = format!("Origin: {base}");
    let call = |args: Vec<String>| session_curl(&jar, &origin, &[], args);
    let s = |x: &str| x.to_string();

    // Logged out: to the login form, which comes back here.
    let (code, head) = call(vec![s("-i"), format!("{base}/designer")]).await;
    assert_eq!(code, 303);
    assert!(
        head.to_ascii_lowercase()
            .contains("location: /login?next=/designer"),
        "{head}"
    );
    let (code, body) = call(vec![format!("{base}/admin/api/version/running")]).await;
    assert_eq!(code, 401, "{body}");

    // A viewer is not an admin.
    call(vec![
        s("-d"),
        format!("user={VIEWER}&password={VIEWER_PW}&next=/designer"),
        format!("{base}/login"),
    ])
    .await;
    let (code, _) = call(vec![format!("{base}/designer")]).await;
    assert_eq!(code, 303);

    call(vec![
        s("-d"),
        format!("user={ADMIN}&password={ADMIN_PW}&next=/designer"),
        format!("{base}/login"),
    ])
    .await;
    let (code, page) = call(vec![format!("{base}/designer")]).await;
    assert_eq!(code, 200);
    // The app's screen, hydrated by the designer's own bundle.
    assert!(page.contains("/pkg/designer.js"), "{page}");
    assert!(
        page.contains(&format!("<strong>{ADMIN}</strong>")),
        "{page}"
    );
    // The panel's pages do not load the designer.
    let (_, panel) = call(vec![format!("{base}/")]).await;
    assert!(!panel.contains("designer"), "{panel}");

    let (code, text) = call(vec![format!("{base}/admin/api/version/running")]).await;
    assert_eq!(code, 200);
    let source = running.controller.project_source();
    assert_eq!(
        text,
        source.unwrap_or_else(|| running.controller.project().to_toml())
    );
    let (code, _) = call(vec![format!("{base}/admin/api/version/pending")]).await;
    assert_eq!(code, 404);

    let file = h.dir.path().join("room.toml");
    std::fs::write(&file, project("Designed", 9)).unwrap();
    let (code, body) = call(vec![
        s("-F"),
        format!("project=@{}", file.display()),
        format!("{base}/admin/api/upload?via=designer"),
    ])
    .await;
    assert_eq!(code, 200, "{body}");
    let (code, text) = call(vec![format!("{base}/admin/api/version/pending")]).await;
    assert_eq!((code, text), (200, project("Designed", 9)));
    let (code, body) = call(vec![
        s("-X"),
        s("POST"),
        format!("{base}/admin/api/apply?via=designer"),
    ])
    .await;
    assert_eq!(code, 200, "{body}");
    let (_, body) = call(vec![
        s("-H"),
        s("Accept: application/json"),
        format!("{base}/admin/api/history"),
    ])
    .await;
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list[0]["via"], "designer", "{body}");
    assert_eq!(list[0]["name"], "Designed");
    let (code, text) = call(vec![format!("{base}/admin/api/version/1")]).await;
    assert_eq!((code, text), (200, project("Designed", 9)));
}
