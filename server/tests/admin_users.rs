//! Users managed on the admin page (`/admin/api/users*`), with curl as the
//! browser from another address (127.0.0.2): only an admin, only from the
//! controller's own pages (Origin), the CLI's rules, never the last admin,
//! every change and refusal in the audit trail with who and from where.

use crate::support;

use controller_core::audit::{AuditEvent, AuditOutcome};
use roomctl::security::auth::Role;
use support::*;

const CLIENT: &str = "127.0.0.2";

/// curl from [`CLIENT`] with the cookie `jar`, `Accept: application/json`
/// and `headers`, then `args`; (status, body).
async fn curl(jar: &str, headers: &[&str], args: &[&str]) -> (u16, String) {
    let mut v: Vec<&str> = vec![
        "-sS",
        "--interface",
        CLIENT,
        "-b",
        jar,
        "-c",
        jar,
        "-H",
        "Accept: application/json",
    ];
    for h in headers {
        v.extend(["-H", *h]);
    }
    v.extend(args);
    v.extend(["-w", "\n%{http_code}"]);
    let (ok, out, err) = run("curl", &v).await;
    assert!(ok, "curl: {err}");
    let (body, code) = out.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_on_the_admin_page_and_every_change_is_audited() {
    let env = TestSettings::only(&["panel"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .user(VIEWER, Role::Viewer, VIEWER_PW)
        .in_tempdir();
    let running = env.start().await;
    let base = format!("http://{}", running.addrs.panel.unwrap());
    let own = format!("Origin: {base}");
    let (admin_jar, viewer_jar) = (
        env.dir.path().join("admin-cookies"),
        env.dir.path().join("viewer-cookies"),
    );
    let (admin_jar, viewer_jar) = (admin_jar.to_str().unwrap(), viewer_jar.to_str().unwrap());
    let users = format!("{base}/admin/api/users");
    let post = |jar: &str, url: String, form: String| {
        let (jar, own) = (jar.to_string(), own.clone());
        async move { curl(&jar, &[own.as_str()], &["-d", form.as_str(), url.as_str()]).await }
    };
    let settings_text = || std::fs::read_to_string(env.settings_file()).unwrap();

    // Nobody logged in, then a viewer: refused.
    assert_eq!(curl(admin_jar, &[], &[users.as_str()]).await.0, 401);
    let login = |user: &str, pw: &str| format!("user={user}&password={pw}&next=/admin");
    let (code, _) = post(
        viewer_jar,
        format!("{base}/login"),
        login(VIEWER, VIEWER_PW),
    )
    .await;
    assert_eq!(code, 303);
    let (code, body) = post(
        viewer_jar,
        users.clone(),
        "name=mallory&role=admin&password=mallory-pw-1".into(),
    )
    .await;
    assert_eq!(code, 401, "{body}");
    assert!(!settings_text().contains("mallory"));

    // The admin sees the users and their roles, never a hash.
    let (code, _) = post(admin_jar, format!("{base}/login"), login(ADMIN, ADMIN_PW)).await;
    assert_eq!(code, 303);
    let (code, body) = curl(admin_jar, &[], &[users.as_str()]).await;
    assert_eq!(code, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list[0]["name"], ADMIN);
    assert_eq!(list[0]["role"], "admin");
    assert_eq!(list[0]["you"], true);
    assert_eq!(list[1]["role"], "viewer");
    assert!(!body.contains("argon2"), "{body}");

    // From another site's page, or with no Origin: refused, nothing written.
    let add = "name=frontdesk&role=operator&password=frontdesk-pw-1";
    for origin in ["Origin: http://evil.example", "X-No-Origin: 1"] {
        let (code, _) = curl(admin_jar, &[origin], &["-d", add, users.as_str()]).await;
        assert_eq!(code, 403, "{origin}");
    }
    assert!(!settings_text().contains("frontdesk"));

    // The CLI's rules: a name without spaces, 8 characters of password.
    let (code, body) = post(
        admin_jar,
        users.clone(),
        "name=frontdesk&role=operator&password=short".into(),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("at least 8 characters"), "{body}");
    let (code, body) = post(
        admin_jar,
        users.clone(),
        "name=front+desk&role=operator&password=frontdesk-pw-1".into(),
    )
    .await;
    assert_eq!(code, 400, "{body}");
    let (code, _) = post(
        admin_jar,
        users.clone(),
        "name=frontdesk&role=root&password=frontdesk-pw-1".into(),
    )
    .await;
    assert_eq!(code, 400);

    // Added: a hash in the settings file, and it logs in at once.
    let (code, body) = post(admin_jar, users.clone(), add.into()).await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("frontdesk (operator) can log in now"),
        "{body}"
    );
    let text = settings_text();
    assert!(
        text.contains("name = \"frontdesk\"") && text.contains("$argon2id$"),
        "{text}"
    );
    assert!(!text.contains("frontdesk-pw-1"), "{text}");
    let store = running.controller.users();
    assert_eq!(
        store.verify("frontdesk", "frontdesk-pw-1").map(|u| u.role),
        Some(Role::Operator)
    );
    let (code, body) = post(admin_jar, users.clone(), add.into()).await;
    assert_eq!(code, 409, "{body}");

    // Another role, another password.
    let (code, body) = post(
        admin_jar,
        format!("{users}/frontdesk/role"),
        "role=admin".into(),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (code, _) = post(
        admin_jar,
        format!("{users}/frontdesk/password"),
        "password=frontdesk-pw-2".into(),
    )
    .await;
    assert_eq!(code, 200);
    let store = running.controller.users();
    assert!(store.verify("frontdesk", "frontdesk-pw-1").is_none());
    assert_eq!(
        store.verify("frontdesk", "frontdesk-pw-2").map(|u| u.role),
        Some(Role::Admin)
    );

    // Never the last admin: with frontdesk a viewer again, the installer
    // can be neither removed nor demoted.
    let (code, _) = post(
        admin_jar,
        format!("{users}/frontdesk/role"),
        "role=viewer".into(),
    )
    .await;
    assert_eq!(code, 200);
    let (code, body) = post(admin_jar, format!("{users}/{ADMIN}/remove"), String::new()).await;
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("only admin"), "{body}");
    let (code, _) = post(
        admin_jar,
        format!("{users}/{ADMIN}/role"),
        "role=operator".into(),
    )
    .await;
    assert_eq!(code, 409);
    assert!(running.controller.users().has_admin());

    // Removed: it can no longer log in.
    let (code, body) = post(admin_jar, format!("{users}/{VIEWER}/remove"), String::new()).await;
    assert_eq!(code, 200, "{body}");
    assert!(running
        .controller
        .users()
        .verify(VIEWER, VIEWER_PW)
        .is_none());
    let (code, _) = post(admin_jar, format!("{users}/{VIEWER}/remove"), String::new()).await;
    assert_eq!(code, 404);

    // The audit trail: each change and each refusal, by whom, from where,
    // once (not again as an edit of the settings file).
    running.controller.refresh_settings_file().await;
    let entries = running.controller.audit().recent(200);
    let ours: Vec<_> = entries
        .iter()
        .filter(|e| e.event == AuditEvent::User && e.service == "admin-page")
        .collect();
    for e in &ours {
        assert_eq!(e.user.as_deref(), Some(ADMIN), "{e:?}");
        assert_eq!(e.address.as_deref(), Some(CLIENT), "{e:?}");
    }
    let ok: Vec<&str> = ours
        .iter()
        .filter(|e| e.outcome == AuditOutcome::Ok)
        .map(|e| e.detail.as_str())
        .collect();
    let removed = format!("removed {VIEWER}");
    assert_eq!(
        ok,
        [
            "added frontdesk (operator)",
            "frontdesk: role changed from operator to admin",
            "frontdesk: password reset",
            "frontdesk: role changed from admin to viewer",
            removed.as_str(),
        ],
        "{entries:#?}"
    );
    let refused = ours
        .iter()
        .filter(|e| e.outcome == AuditOutcome::Failed)
        .count();
    assert!(refused >= 6, "{entries:#?}");
    assert!(
        !entries
            .iter()
            .any(|e| e.event == AuditEvent::User && e.service == "settings-file"),
        "{entries:#?}"
    );
    running.shutdown().await;
}
