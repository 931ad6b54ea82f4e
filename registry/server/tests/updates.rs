//! Software updates at the registry, on SQLite and PostgreSQL: a bundle
//! stored with `registry update add`'s function, a staged roll-out (one
//! terminal, then a share, then all), the heartbeat's answer naming the
//! version a terminal should run, ranged fetches of the bundle, and every
//! way a credential that should not get it is refused. The fleet's JSON
//! and page show a terminal that fell back.

mod console_util;

use console_util::*;
use registry::ConsoleConfig;
use registry_api::{
    update_bundle_path, Heartbeat, HeartbeatReply, UpdateReport, UpdateState, HEARTBEAT_PATH,
    MAX_UPDATE_RANGE_BYTES,
};
use reqwest::StatusCode;

fn heartbeat(version: &str, update: Option<UpdateReport>) -> Heartbeat {
    Heartbeat {
        terminal_id: "ignored-bound-token-names-it".into(),
        queue_depth: 0,
        failed: 0,
        oldest_unsent_age_s: None,
        version: version.into(),
        printer: None,
        free_disk_mb: None,
        update,
    }
}

async fn beat(rig: &Rig, token: &str, hb: &Heartbeat) -> HeartbeatReply {
    let res = reqwest::Client::new()
        .post(rig.url(HEARTBEAT_PATH))
        .bearer_auth(token)
        .json(hb)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn fetch(rig: &Rig, token: &str, sha: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(rig.url(&update_bundle_path(sha)))
        .bearer_auth(token);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    req.send().await.unwrap()
}

on_both!(async fn a_rolled_out_bundle_is_offered_by_the_heartbeat_and_fetched_in_ranges_by_that_terminal_only(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig::default()).await;
    // 9 MiB and a bit: more than one range and more than one stored chunk.
    let bundle: Vec<u8> = (0..(9 << 20) + 4321).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk-1.2.0.raucb");
    std::fs::write(&path, &bundle).unwrap();
    let db = rig.db.database.clone();
    let rec = tokio::task::spawn_blocking(move || registry::add_update_bundle(db, "1.2.0", &path).unwrap())
        .await
        .unwrap();
    assert_eq!(rec.sha256, registry_api::sha256_hex(&bundle));
    // Stored, but given to nobody yet: the heartbeat offers nothing.
    assert_eq!(beat(&rig, TOKEN, &heartbeat("1.1.0", None)).await.update, None);
    assert_eq!(fetch(&rig, TOKEN, &rec.sha256, Some("bytes=0-99")).await.status(), StatusCode::NOT_FOUND, "not offered yet");

    // The pilot: hall-01 only.
    let db = rig.db.database.clone();
    tokio::task::spawn_blocking(move || registry::add_update_rollout(db, "1.2.0", Some("hall-01"), None).unwrap())
        .await
        .unwrap();
    let offer = beat(&rig, TOKEN, &heartbeat("1.1.0", None)).await.update.expect("offered to the pilot");
    assert_eq!((offer.version.as_str(), offer.sha256.as_str(), offer.size_bytes), ("1.2.0", rec.sha256.as_str(), bundle.len() as u64));
    assert_eq!(beat(&rig, TOKEN_2, &heartbeat("1.1.0", None)).await.update, None, "hall-02 is not in the pilot");
    assert_eq!(beat(&rig, TOKEN, &heartbeat("1.2.0", None)).await.update, None, "it runs that version already");

    // Fetched in ranges, resumed anywhere, capped per request.
    let mut got = Vec::new();
    while got.len() < bundle.len() {
        let res = fetch(&rig, TOKEN, &rec.sha256, Some(&format!("bytes={}-", got.len()))).await;
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        let range = res.headers()["content-range"].to_str().unwrap().to_owned();
        let part = res.bytes().await.unwrap();
        assert!(part.len() as u64 <= MAX_UPDATE_RANGE_BYTES);
        assert_eq!(range, format!("bytes {}-{}/{}", got.len(), got.len() + part.len() - 1, bundle.len()));
        got.extend_from_slice(&part);
    }
    assert!(got == bundle, "the pieces make the bundle");
    let res = fetch(&rig, TOKEN, &rec.sha256, Some("bytes=5-9")).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), &bundle[5..=9]);

    // Refused: no range, a bad range, past the end, another terminal, the
    // staff token, an unknown bundle, a name that is not a SHA-256.
    assert_eq!(fetch(&rig, TOKEN, &rec.sha256, None).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fetch(&rig, TOKEN, &rec.sha256, Some("bytes=9-5")).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fetch(&rig, TOKEN, &rec.sha256, Some("bytes=0-1,5-6")).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(fetch(&rig, TOKEN, &rec.sha256, Some("bytes=-500")).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        fetch(&rig, TOKEN, &rec.sha256, Some(&format!("bytes={}-", bundle.len()))).await.status(),
        StatusCode::RANGE_NOT_SATISFIABLE
    );
    assert_eq!(fetch(&rig, TOKEN_2, &rec.sha256, Some("bytes=0-9")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(fetch(&rig, STAFF, &rec.sha256, Some("bytes=0-9")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(fetch(&rig, "no-such-token", &rec.sha256, Some("bytes=0-9")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(fetch(&rig, TOKEN, &"0".repeat(64), Some("bytes=0-9")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(fetch(&rig, TOKEN, "../../etc/passwd", Some("bytes=0-9")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(fetch(&rig, TOKEN, &"A".repeat(64), Some("bytes=0-9")).await.status(), StatusCode::BAD_REQUEST);

    // A report whose target is no version is refused whole.
    let bad = UpdateReport { target_version: "1.2.0\n<script>".into(), state: UpdateState::Failed };
    let res = reqwest::Client::new()
        .post(rig.url(HEARTBEAT_PATH))
        .bearer_auth(TOKEN)
        .json(&heartbeat("1.1.0", Some(bad)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Everyone: hall-02 is offered it too.
    let db = rig.db.database.clone();
    tokio::task::spawn_blocking(move || registry::add_update_rollout(db, "1.2.0", None, Some(100)).unwrap())
        .await
        .unwrap();
    assert_eq!(beat(&rig, TOKEN_2, &heartbeat("1.1.0", None)).await.update.map(|o| o.version).as_deref(), Some("1.2.0"));

    // hall-02 installs it and comes back on 1.1.0: the fleet says so.
    let fell_back = UpdateReport { target_version: "1.2.0".into(), state: UpdateState::FellBack };
    beat(&rig, TOKEN_2, &heartbeat("1.1.0", Some(fell_back.clone()))).await;
    let rows: Vec<serde_json::Value> = reqwest::Client::new()
        .get(rig.url("/v1/staff/fleet"))
        .bearer_auth(STAFF)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = rows.iter().find(|r| r["terminal_id"] == "hall-02").expect("hall-02 listed");
    assert_eq!(row["version"], "1.1.0");
    assert_eq!(row["update"]["state"], "fell_back");
    assert!(row["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "update_fell_back"), "{row}");
    let s = rig.signed_in("wu").await;
    let (_, html) = s.text("/console/fleet").await;
    assert!(html.contains("更新到 1.2.0：失败，已回到原版本"), "the fleet page does not say it");
    assert!(html.contains("软件更新启动失败，已自动回到原版本"));
    rig.reg.shutdown().await;
});

on_both!(async fn a_version_is_stored_once_and_a_rollout_needs_a_stored_version(backend: Backend) {
    let rig = start_on(backend, ConsoleConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&a, b"bundle a").unwrap();
    std::fs::write(&b, b"bundle b").unwrap();
    let db = rig.db.database.clone();
    tokio::task::spawn_blocking(move || {
        registry::add_update_bundle(db.clone(), "2.0.0", &a).unwrap();
        assert!(registry::add_update_bundle(db.clone(), "2.0.0", &a).is_ok(), "the same bytes again");
        let err = registry::add_update_bundle(db.clone(), "2.0.0", &b).unwrap_err();
        assert!(err.to_string().contains("already stored"), "{err}");
        assert!(registry::add_update_bundle(db.clone(), "bad version!", &b).is_err());
        assert!(registry::add_update_rollout(db.clone(), "3.0.0", None, Some(10)).is_err());
        assert!(registry::add_update_rollout(db.clone(), "2.0.0", Some("hall-01"), Some(10)).is_err());
        let listing = registry::update_listing(db).unwrap();
        assert!(listing.contains("2.0.0  8 bytes"), "{listing}");
    })
    .await
    .unwrap();
    rig.reg.shutdown().await;
});
