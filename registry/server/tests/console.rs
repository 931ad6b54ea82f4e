//! The staff console over real HTTP (reqwest with a cookie jar): sign-in,
//! wrong passwords and the lockout, expired sessions, CSRF, which
//! credentials reach the console and the fleet's JSON, roles, notices
//! required for acceptance and the answer, notices in the terminal's
//! history reply, the audit of reads and changes, escaping of hostile text,
//! and the fleet's flags. All personal data is SPECIMEN.

mod console_util;

use std::time::Duration;

use console_util::*;
use registry::ConsoleConfig;
use registry_api::{Heartbeat, PrinterReport, HEARTBEAT_PATH, HISTORY_PATH};
use reqwest::StatusCode;

on_both!(async fn sign_in_wrong_passwords_lock_the_account_and_are_audited_without_the_password(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig::default()).await;
    let s = rig.browser();
    // Not signed in: to the sign-in page.
    let res = s.get("/console/cases").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/console/login");
    let res = s.sign_in("li", "wrong-password-1").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("用户名或密码不正确"));
    let res = s.sign_in("nobody", "wrong-password-2").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let alert = |html: &str| html.split("role=\"alert\">").nth(1).and_then(|t| t.split('<').next()).map(str::to_owned);
    let unknown = alert(&res.text().await.unwrap()).expect("an error for an unknown name");
    // Four more wrong ones lock li (five in a row) ...
    for _ in 0..4 {
        assert_eq!(s.sign_in("li", "wrong-password-3").await.status(), StatusCode::UNAUTHORIZED);
    }
    // ... so the right password is refused now, in the same words as an
    // unknown name: the page never tells which accounts exist.
    let res = s.sign_in("li", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let locked = alert(&res.text().await.unwrap()).expect("an error for a locked account");
    assert_eq!(locked, unknown);
    assert!(locked.contains("暂停登录 15 分钟"), "{locked}");
    assert_eq!(s.get("/console/cases").await.status(), StatusCode::SEE_OTHER);
    // Another account is not held back.
    let z = rig.browser();
    let res = z.sign_in("zhang", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/console/cases");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("console_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: {cookie}");
    assert_eq!(z.get("/console/cases").await.status(), StatusCode::OK);

    let audit = rig.audit().await;
    let failed: Vec<_> = audit.iter().filter(|e| e.1 == "sign_in_failed").map(|e| e.2.as_str()).collect();
    assert_eq!(failed, ["li", "nobody", "li", "li", "li", "li"]);
    assert!(audit.iter().any(|e| e.1 == "account_locked" && e.2 == "li"));
    assert!(audit.iter().any(|e| e.1 == "sign_in_locked" && e.2 == "li"));
    assert!(audit.iter().any(|e| e.0 == "zhang" && e.1 == "sign_in"));
    let text = format!("{audit:?}");
    for secret in ["wrong-password", PASSWORD] {
        assert!(!text.contains(secret), "the audit holds a password");
    }
    // A password typed into the name field is not recorded either.
    rig.browser().sign_in("my secret pass", "x").await;
    let last = rig.audit().await.into_iter().rfind(|e| e.1 == "sign_in_failed").unwrap();
    assert_eq!(last.2, "<14 chars>");
    rig.reg.shutdown().await;
});

on_both!(async fn forms_need_the_sessions_csrf_token_and_sign_out_ends_the_session(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig::default()).await;
    let case = rig.upload(&specimen("k1", ID_A, "labour", "SPECIMEN 第一页")).await.case_number;
    let s = rig.signed_in("li").await;
    let csrf = s.csrf("/console/cases").await;
    assert_eq!(csrf.len(), 64);
    for bad in ["", "0000000000000000000000000000000000000000000000000000000000000000", &csrf[..63]] {
        let res = s.change(&case, bad, "registered", "accepted", "受理。").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "csrf {bad:?}");
    }
    // A form without the field at all.
    let res = s
        .http
        .post(s.url(&format!("/console/cases/{case}/status")))
        .form(&[("seen", "registered"), ("to", "accepted"), ("text", "受理。")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Another session's token is no good either.
    let other = rig.signed_in("zhang").await;
    let res = other.change(&case, &csrf, "registered", "accepted", "受理。").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(rig.history(ID_A).await.registrations[0].status, "registered");
    // The sign-in form has its own token.
    let res = rig
        .browser()
        .http
        .post(rig.url("/console/login"))
        .form(&[("user", "li"), ("password", PASSWORD), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Sign-out needs the token too, then the session is gone.
    let res = s.http.post(s.url("/console/logout")).form(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = s.http.post(s.url("/console/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.get("/console/cases").await.status(), StatusCode::SEE_OTHER);
    rig.reg.shutdown().await;
});

on_both!(async fn an_idle_session_expires(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig {
        session_idle: Duration::from_secs(2),
        ..ConsoleConfig::default()
    })
    .await;
    let s = rig.signed_in("li").await;
    assert_eq!(s.get("/console/cases").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Used within the idle time: still alive, and the clock starts again.
    assert_eq!(s.get("/console/cases").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let res = s.get("/console/cases").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/console/login");
    rig.reg.shutdown().await;
});

on_both!(async fn bearer_tokens_and_terminals_never_reach_the_console_and_sessions_not_the_bearer_api(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig::default()).await;
    let s = rig.signed_in("zhang").await;
    for path in ["/console/cases", "/console/fleet", "/console/audit", "/console/login"] {
        for token in [STAFF, TOKEN] {
            // With the session cookie and a token: refused.
            let res = s.http.get(s.url(path)).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} with a token");
            // A token alone is no session.
            let res = reqwest::Client::new().get(rig.url(path)).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path} with a bare token");
        }
    }
    // A terminal cannot sign in, even with a right password.
    let res = rig
        .browser()
        .http
        .post(rig.url("/console/login"))
        .bearer_auth(TOKEN)
        .form(&[("user", "li"), ("password", PASSWORD), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The session is not a credential of the bearer API.
    let res = s.get(registry_api::STAFF_AUDIT_PATH).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The fleet's JSON: a staff token or a supervisor's or technician's session.
    let fleet = registry::FLEET_JSON_PATH;
    assert_eq!(s.get(fleet).await.status(), StatusCode::OK);
    assert_eq!(rig.signed_in("wu").await.get(fleet).await.status(), StatusCode::OK);
    assert_eq!(rig.signed_in("li").await.get(fleet).await.status(), StatusCode::FORBIDDEN);
    let res = reqwest::Client::new().get(rig.url(fleet)).bearer_auth(STAFF).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = reqwest::Client::new().get(rig.url(fleet)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(reqwest::get(rig.url(fleet)).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    rig.reg.shutdown().await;
});

on_both!(async fn roles_see_only_their_pages(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig::default()).await;
    let clerk = rig.signed_in("li").await;
    assert_eq!(clerk.get("/console/cases").await.status(), StatusCode::OK);
    assert_eq!(clerk.get("/console/audit").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(clerk.get("/console/fleet").await.status(), StatusCode::FORBIDDEN);
    let (_, html) = clerk.text("/console/cases").await;
    assert!(!html.contains("/console/audit"), "a clerk is shown the audit link");
    let tech = rig.signed_in("wu").await;
    let res = tech.get("/console").await;
    assert_eq!(res.headers()["location"], "/console/fleet");
    assert_eq!(tech.get("/console/cases").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(tech.get("/console/fleet").await.status(), StatusCode::OK);
    assert_eq!(tech.get("/console/audit").await.status(), StatusCode::FORBIDDEN);
    let sup = rig.signed_in("zhang").await;
    for path in ["/console/cases", "/console/fleet", "/console/audit"] {
        assert_eq!(sup.get(path).await.status(), StatusCode::OK, "{path}");
    }
    rig.reg.shutdown().await;
});

on_both!(async fn notices_are_required_stored_and_sent_to_the_terminal_and_every_read_and_change_is_audited(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig::default()).await;
    let case = rig.upload(&specimen("k1", ID_A, "labour", "SPECIMEN 第一页")).await.case_number;
    let other = rig.upload(&specimen("k2", ID_B, "land", "SPECIMEN")).await.case_number;
    let s = rig.signed_in("li").await;
    let csrf = s.csrf("/console/cases").await;
    // The case page offers acceptance with the template filled in.
    let (status, html) = s.text(&format!("/console/cases/{case}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("测试样例") && html.contains(ID_A), "identity missing");
    assert!(html.contains("受理告知书") && html.contains("不予受理告知书"));
    assert!(html.contains(&format!("（编号 {case}）")), "the template is not filled");
    assert!(html.contains("人力资源和社会保障局"), "no suggested unit");
    // Acceptance without its notice is refused, and nothing changes.
    let res = s.change(&case, &csrf, "registered", "accepted", "  ").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("必须出具告知书"));
    // A move the states do not allow.
    let res = s.change(&case, &csrf, "registered", "closed", "").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // An over-long notice is refused.
    let res = s.change(&case, &csrf, "registered", "accepted", &"字".repeat(4001)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rig.history(ID_A).await.registrations[0].status, "registered");
    // With the notice: accepted.
    let accept = "测试样例：\n您的信访事项已受理。SPECIMEN";
    let res = s.change(&case, &csrf, "registered", "accepted", accept).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = s.change(&case, &csrf, "accepted", "answered", "").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("必须填写答复意见书"));
    let res = s.change(&case, &csrf, "accepted", "answered", "答复：SPECIMEN 已责成公司支付工资。").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = s.change(&case, &csrf, "answered", "closed", "").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Non-acceptance of the other case needs its own notice.
    assert_eq!(s.change(&other, &csrf, "registered", "not_accepted", "").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        s.change(&other, &csrf, "registered", "not_accepted", "不予受理：请向人民法院起诉。SPECIMEN").await.status(),
        StatusCode::SEE_OTHER
    );

    // The terminal's history carries the notices, with their wire names.
    let reply = rig.history(ID_A).await;
    let entry = &reply.registrations[0];
    assert_eq!(entry.status, "closed");
    let kinds: Vec<_> = entry.notices.iter().map(|n| (n.kind.as_str(), n.title.as_str())).collect();
    assert_eq!(kinds, [("acceptance", "受理告知书"), ("answer", "答复意见书")]);
    assert_eq!(entry.notices[0].text, accept);
    assert!(chrono::DateTime::parse_from_rfc3339(&entry.notices[0].issued_at).is_ok());
    let raw: serde_json::Value = reqwest::Client::new()
        .post(rig.url(HISTORY_PATH))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"id_number": ID_B}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let notice = &raw["registrations"][0]["notices"][0];
    assert_eq!(notice["kind"], "non_acceptance");
    assert_eq!(notice["title"], "不予受理告知书");
    assert_eq!(raw["registrations"][0]["status"], "not_accepted");

    // The case page shows the notices and who changed what.
    let (_, html) = s.text(&format!("/console/cases/{case}")).await;
    assert!(html.contains("已责成公司支付工资"));
    assert!(html.contains("已受理 → 已答复（li）"), "no status record");
    // The page image, never cached.
    let res = s.get(&format!("/console/cases/{case}/pages/1")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.bytes().await.unwrap().as_ref(), LETTER_JPEG);
    assert_eq!(rig.browser().get(&format!("/console/cases/{case}/pages/1")).await.status(), StatusCode::SEE_OTHER);

    let audit: Vec<_> = rig.audit().await.into_iter().filter(|e| e.0 == "li").collect();
    let has = |action: &str, target: &str| audit.iter().any(|e| e.1 == action && e.2 == target);
    assert!(has("console_read_case", &case));
    assert!(has("console_read_page", &format!("{case} p1")));
    assert!(has("console_set_status", &format!("{case} accepted notice:acceptance")));
    assert!(has("console_set_status", &format!("{case} answered notice:answer")));
    assert!(has("console_set_status", &format!("{case} closed")));
    assert!(has("console_set_status", &format!("{other} not_accepted notice:non_acceptance")));
    assert!(has("console_set_status_refused", &format!("{case} closed")));
    rig.reg.shutdown().await;
});

on_both!(async fn hostile_text_is_escaped_and_pages_carry_strict_headers(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig::default()).await;
    let xss = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";
    let mut up = specimen("k1", ID_A, "labour", xss);
    up.description = kiosk_privacy::PersonalText::new(xss);
    let case = rig.upload(&up).await.case_number;
    let s = rig.signed_in("li").await;
    let csrf = s.csrf("/console/cases").await;
    let res = s.change(&case, &csrf, "registered", "accepted", &format!("受理。{xss}")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = s.get(&format!("/console/cases/{case}")).await;
    let headers = res.headers().clone();
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script"), "unescaped script");
    assert!(!html.contains("<img src=x"), "unescaped img");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;") || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "escaped text missing");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    // An over-large form body is refused before it is read.
    let res = s
        .http
        .post(s.url(&format!("/console/cases/{case}/status")))
        .form(&[("csrf", csrf.as_str()), ("text", &"x".repeat(70_000))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    rig.reg.shutdown().await;
});

on_both!(async fn the_list_filters_and_the_fleet_flags_what_needs_a_technician(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig {
        offline_after: Duration::from_secs(3),
        ..ConsoleConfig::default()
    })
    .await;
    rig.upload(&specimen("k1", ID_A, "labour", "SPECIMEN")).await;
    rig.upload(&specimen("k2", ID_A, "land", "SPECIMEN")).await;
    rig.upload(&specimen("k3", ID_B, "land", "SPECIMEN")).await;
    let s = rig.signed_in("zhang").await;
    let (_, html) = s.text("/console/cases?category=land").await;
    assert!(html.contains("共 2 件"), "category filter");
    assert!(html.contains("受理期限剩 15 天"), "no acceptance deadline");
    let (_, html) = s.text("/console/cases?repeat=1").await;
    assert!(html.contains("共 2 件"), "repeat petitioner filter");
    let (_, html) = s.text("/console/cases?from=2000-01-01&to=2000-01-02").await;
    assert!(html.contains("共 0 件"));
    assert_eq!(s.get("/console/cases?from=yesterday").await.status(), StatusCode::BAD_REQUEST);
    assert!(!html.contains("测试样例"), "the list shows full names");

    // hall-01 reports a printer out of paper and a nearly full disk; hall-02
    // is enrolled (a code issued) and has never reported.
    let res = reqwest::Client::new()
        .post(rig.url(registry_api::STAFF_TERMINALS_PATH))
        .bearer_auth(STAFF)
        .json(&serde_json::json!({"terminal_id": "hall-02", "hall": "西岭乡便民服务中心"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let hb = Heartbeat {
        terminal_id: "hall-01".into(),
        queue_depth: 1,
        failed: 0,
        oldest_unsent_age_s: Some(30),
        version: "0.1.0".into(),
        printer: Some(PrinterReport::PaperOut),
        free_disk_mb: Some(120),
        update: None,
    };
    let res = reqwest::Client::new().post(rig.url(HEARTBEAT_PATH)).bearer_auth(TOKEN).json(&hb).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rows: Vec<registry::FleetRow> = s.get(registry::FLEET_JSON_PATH).await.json().await.unwrap();
    assert_eq!(rows.len(), 2);
    let codes = |r: &registry::FleetRow| r.reasons.iter().map(|x| x.code.clone()).collect::<Vec<_>>();
    assert_eq!(rows[0].terminal_id, "hall-01");
    assert!(rows[0].online);
    assert_eq!(codes(&rows[0]), ["printer", "low_disk"]);
    assert_eq!(rows[0].reasons[0].text, "打印机缺纸");
    assert_eq!(rows[1].hall.as_deref(), Some("西岭乡便民服务中心"));
    assert!(!rows[1].needs_attention, "a terminal not enrolled yet needs nobody");
    // The short heartbeat period passes: hall-01 is offline.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let rows: Vec<registry::FleetRow> = s.get(registry::FLEET_JSON_PATH).await.json().await.unwrap();
    assert!(!rows[0].online);
    assert_eq!(codes(&rows[0]), ["offline", "printer", "low_disk"]);
    let (_, html) = s.text("/console/fleet").await;
    assert!(html.contains("打印机缺纸") && html.contains("磁盘剩余空间不足：120 MB"));
    assert!(html.contains("1 台需要技术员处理"));
    // The staff API's heartbeats carry the new fields too.
    let all: serde_json::Value = reqwest::Client::new()
        .get(rig.url(registry_api::STAFF_HEARTBEATS_PATH))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all[0]["printer"], "paper_out");
    assert_eq!(all[0]["free_disk_mb"], 120);
    rig.reg.shutdown().await;
});

on_both!(
/// `registry staff add` reads the password from standard input (never the
/// command line), refuses a short one, and the account it makes signs in.
async fn registry_staff_add_takes_the_password_from_stdin(backend: Backend) {
    use std::io::Write as _;
    let db = TestDb::new(backend);
    // `--db FILE` for SQLite, `--database URL` for PostgreSQL.
    let db_args: Vec<std::ffi::OsString> = match &db.database {
        registry::Database::Sqlite(path) => vec!["--db".into(), path.into()],
        registry::Database::Postgres { url, .. } => vec!["--database".into(), url.into()],
    };
    let add = |user: &str, role: &str, password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_registry"))
            .args(["staff", "add"])
            .args(&db_args)
            .args(["--user", user, "--role", role])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = add("wang", "clerk", "short");
    assert!(!ok, "a short password was taken");
    assert!(err.contains("10 to 256"), "{err}");
    let (ok, err) = add("wang", "boss", PASSWORD);
    assert!(!ok && err.contains("--role"), "{err}");
    let (ok, err) = add("wang", "clerk", PASSWORD);
    assert!(ok, "{err}");
    assert!(!err.contains(PASSWORD), "the password was logged");
    // A registry on that database signs wang in.
    let seal = registry::SealSecretKey::generate();
    let cfg = registry::RegistryConfig {
        database: db.database.clone(),
        tokens: vec![format!("hall-01 {TOKEN}")],
        token_file: None,
        staff_tokens: vec![],
        history_limit: registry::HistoryLimit::default(),
        seal_key: seal,
        old_seal_keys: Vec::new(),
        lookup_key: registry::LookupKey::generate(),
        tls: None,
        staged_max_age: registry::DEFAULT_STAGED_MAX_AGE,
        limits: Default::default(),
        staging: Default::default(),
        console: ConsoleConfig::default(),
    };
    let reg = registry::start(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let s = Session {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: reg.base_url(),
    };
    assert_eq!(s.sign_in("wang", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.get("/console/cases").await.status(), StatusCode::OK);
    reg.shutdown().await;
});
