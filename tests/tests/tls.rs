//! Mutual TLS between the uplink and the real registry, with certificates made
//! here by `rcgen` (the registry's, signed by a registry CA) and by the
//! kiosk's own enrollment code (the terminal's self-signed one). The terminal
//! pins the registry CA, makes its own key, enrols it with the one-time code
//! staff issued, and is known by that key from then on; a terminal whose key
//! was never enrolled, or that pins another CA, gets no acknowledgement and
//! stores nothing.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use kiosk_e2e::rig::Rig;
use kiosk_queue::test_utils::specimen_upload;
use kiosk_uplink::{ClientTls, Uplink, UplinkEvent};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};

/// A CA that signs leaf certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> anyhow::Result<Ca> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ok(Ca {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate()?)?,
        })
    }

    /// A leaf for `names` (DNS names or IP addresses); returns (certificate PEM, key PEM).
    fn leaf(&self, names: &[&str]) -> anyhow::Result<(String, String)> {
        let key = KeyPair::generate()?;
        let params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<std::path::PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, text)?;
    Ok(p)
}

/// Staff issue a one-time code for `terminal_id` (as `POST /v1/staff/terminals`).
async fn issue_code(base: &str, ca: &Ca, terminal_id: &str) -> anyhow::Result<String> {
    let staff = reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(ca.pem().as_bytes())?)
        .build()?;
    let res = staff
        .post(format!("{base}{}", registry_api::STAFF_TERMINALS_PATH))
        .bearer_auth(kiosk_e2e::STAFF_TOKEN)
        .json(&serde_json::json!({ "terminal_id": terminal_id, "hall": "SPECIMEN hall" }))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "issue: {}", res.status());
    let code: registry_api::EnrollmentCode = res.json().await?;
    Ok(code.code)
}

#[test]
fn mutual_tls_uploads_and_refuses_strangers() -> anyhow::Result<()> {
    let registry_ca = Ca::new("SPECIMEN registry CA")?;
    let stranger_ca = Ca::new("SPECIMEN stranger CA")?;
    let mut rig = Rig::start()?;
    let dir = rig.dir.path().to_path_buf();
    let (server_cert, server_key) = registry_ca.leaf(&["127.0.0.1", "localhost"])?;
    let tls = registry::TlsFiles {
        cert_chain: write(&dir, "server.pem", &server_cert)?,
        key: write(&dir, "server.key", &server_key)?,
    };
    // Restart the rig's registry with TLS on the same database.
    rig.stop_registry();
    let mut cfg = kiosk_e2e::registry_config(&rig.keys, dir.join("registry.db"))?;
    cfg.tls = Some(tls);
    let reg = registry::start_blocking(cfg, "127.0.0.1:0".parse()?)?;
    let url = reg.base_url();
    assert!(url.starts_with("https://"), "{url}");

    // Each terminal makes its own key, as `kiosk enroll` does.
    let terminal = |pinned: &Ca| -> anyhow::Result<ClientTls> {
        let (cert, key) = kiosk_uplink::make_identity("terminal-01")?;
        Ok(ClientTls {
            registry_ca_pem: pinned.pem().into_bytes(),
            identity_pem: format!("{cert}\n{}", key.as_str()).into_bytes(),
        })
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let ours = terminal(&registry_ca)?;
    let code = runtime.block_on(issue_code(&url, &registry_ca, "terminal-01"))?;
    // Pinning another CA, the terminal cannot even enrol.
    let err = runtime
        .block_on(kiosk_uplink::enroll(&url, &terminal(&stranger_ca)?, "terminal-01", &code, Duration::from_secs(10)))
        .expect_err("a terminal pinning another CA must not reach the registry");
    assert!(matches!(err, kiosk_uplink::UplinkError::Network(_)), "{err}");
    let reply = runtime.block_on(kiosk_uplink::enroll(&url, &ours, "terminal-01", &code, Duration::from_secs(10)))?;
    assert_eq!(reply.terminal_id, "terminal-01");

    let queue = rig.queue()?;
    queue.seal(&specimen_upload(1))?;
    // Strangers: a key never enrolled, and a terminal pinning another CA.
    for bad in [terminal(&registry_ca)?, terminal(&stranger_ca)?] {
        let mut ucfg = rig.uplink_config(&url)?;
        ucfg.tls = Some(bad);
        let (tx, rx) = mpsc::channel();
        let uplink = Uplink::spawn(rig.queue_path.clone(), ucfg, tx)?;
        match rx.recv_timeout(Duration::from_secs(10))? {
            UplinkEvent::RetryScheduled { .. } => {}
            other => panic!("a stranger got {other:?}"),
        }
        drop(uplink);
    }
    // No client certificate at all cannot even be configured for https.
    let mut ucfg = rig.uplink_config(&url)?;
    ucfg.tls = None;
    assert!(Uplink::spawn(rig.queue_path.clone(), ucfg, mpsc::channel().0).is_err());
    assert!(
        rig.registry_rows()?.is_empty(),
        "a stranger's upload was stored"
    );

    // The enrolled terminal, with no bearer token at all.
    let mut ucfg = rig.uplink_config(&url)?;
    ucfg.tls = Some(ours);
    ucfg.token = String::new();
    let (tx, _rx) = mpsc::channel();
    let uplink = Uplink::spawn(rig.queue_path.clone(), ucfg, tx)?;
    for n in 2..=3 {
        queue.seal(&specimen_upload(n))?;
        uplink.wake();
    }
    rig.wait_drained(3, Duration::from_secs(20))?;
    drop(uplink);
    rig.assert_exactly_once(3)?;
    drop(reg);
    Ok(())
}
