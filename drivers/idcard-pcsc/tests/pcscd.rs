//! The PC/SC transport against a real `pcscd` with vsmartcard's `vpcd`
//! driver and this crate's virtual card (Debian packages `pcscd` and
//! `vsmartcard-vpcd`, listed in scripts/install-deps.sh).
//!
//! The test starts `pcscd --foreground` itself, with a reader configuration
//! of its own (a `vpcd` reader on a private port) in a temporary directory.
//! pcsc-lite 1.9 has one fixed socket (`/run/pcscd/pcscd.comm`), so only
//! one daemon can run: a listening socket on a fixed loopback port serves as
//! a lock between concurrent runs (the kernel frees it when a run ends),
//! and a daemon already running is reported as the reason for failing. All steps run in
//! this one test function, in order, for the same reason.

#![cfg(unix)]

use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use idcard_proto::{encode_text, encode_text_extras};
use kiosk_idcard::sim::SimCard;
use kiosk_idcard::watch::{watch, ReaderEvent, WatchConfig};
use kiosk_idcard::{CardPoll, IdCardReader, Identity, ReaderError, ReaderKind};
use kiosk_idcard_pcsc::vicc::{CardContents, VirtualCard};
use kiosk_idcard_pcsc::{Dialect, PcscOptions, PcscReader};

const READER: &str = "Kiosk Test PCD 00 00";
/// Held while a run owns pcscd.
const LOCK_PORT: u16 = 35_960;

struct Pcscd {
    child: Child,
    _dir: tempfile::TempDir,
    _lock: TcpListener,
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn stop(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SIGTERM lets pcscd clean /run/pcscd; kill only our own child.
    let _ = Command::new("kill")
        .arg(child.id().to_string())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for the machine-wide lock of this test (see the module docs).
fn take_lock() -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match TcpListener::bind(("127.0.0.1", LOCK_PORT)) {
            Ok(l) => return l,
            Err(e) => assert!(Instant::now() < deadline, "lock port {LOCK_PORT} busy: {e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_pcscd(port: u16) -> Pcscd {
    let lock = take_lock();
    let sock = Path::new("/run/pcscd/pcscd.comm");
    assert!(
        std::os::unix::net::UnixStream::connect(sock).is_err(),
        "another pcscd is running ({}): stop it, this test starts its own",
        sock.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("reader.conf.d");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(
        conf.join("vpcd"),
        format!(
            "FRIENDLYNAME \"Kiosk Test PCD\"\nDEVICENAME /dev/null:0x{port:04X}\n\
             LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x{port:04X}\n"
        ),
    )
    .unwrap();
    let exe = ["/usr/sbin/pcscd", "/sbin/pcscd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("pcscd");
    let log_path = dir.path().join("pcscd.log");
    let log = File::create(&log_path).unwrap();
    let child = Command::new(exe)
        .arg("--foreground")
        .arg("--config")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("pcscd (Debian package pcscd) must be installed");
    let d = Pcscd {
        child,
        _dir: dir,
        _lock: lock,
    };
    // Ready when our reader is listed. Generous: on a busy 2-core machine
    // pcscd has been seen to take longer than 10 s to load the driver.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(ctx) = pcsc::Context::establish(pcsc::Scope::User) {
            if let Ok(readers) = ctx.list_readers_owned() {
                if readers.iter().any(|r| r.to_string_lossy().contains(READER)) {
                    break;
                }
            }
        }
        if Instant::now() >= deadline {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("pcscd did not list the vpcd reader within 30 s; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    d
}

fn contents(card: &SimCard, uid: &[u8]) -> CardContents {
    let mut text = encode_text(&card.text);
    encode_text_extras(&mut text, &card.extras);
    CardContents {
        text: text.to_vec(),
        photo: card.photo_wlt.clone(),
        uid: uid.to_vec(),
    }
}

/// Inserts a card, retrying while vpcd is not yet accepting.
fn insert(port: u16, c: CardContents) -> VirtualCard {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match VirtualCard::insert(port, c.clone()) {
            Ok(v) => return v,
            Err(e) => assert!(Instant::now() < deadline, "vpcd not reachable: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn poll_card(r: &mut PcscReader) -> Result<Identity, ReaderError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match r.poll()? {
            CardPoll::Card(id) => return Ok(id),
            CardPoll::NoCard => assert!(Instant::now() < deadline, "card never seen"),
        }
    }
}

fn wait_absent(r: &mut PcscReader) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.card_present().unwrap() {
        assert!(Instant::now() < deadline, "card never left");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn pcsc_transport_against_a_real_pcscd() {
    // A port free right now (vpcd listens on it): a port derived from the pid
    // could be held by some other connection and keep the reader from appearing.
    let port = TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    let mut daemon = start_pcscd(port);
    let opts = PcscOptions {
        reader_name: Some(READER.into()),
        dialect: Dialect::VendorSam,
        wait: Duration::from_millis(300),
    };

    // A reader name that matches nothing: the reader is not there.
    let missing = PcscReader::open(PcscOptions {
        reader_name: Some("No Such Reader".into()),
        ..opts.clone()
    });
    assert!(matches!(missing, Err(ReaderError::Disconnected)));
    // Waiting for it watches the reader list, and gives up on time.
    let started = Instant::now();
    let missing = PcscReader::open_waiting(
        PcscOptions {
            reader_name: Some("No Such Reader".into()),
            ..opts.clone()
        },
        Duration::from_millis(300),
    );
    assert!(matches!(missing, Err(ReaderError::Disconnected)));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(PcscReader::open_waiting(opts.clone(), Duration::from_secs(1)).is_ok());

    let mut r = PcscReader::open(opts.clone()).expect("open the vpcd reader");
    assert_eq!(r.kind(), ReaderKind::Identity);
    assert_eq!(r.poll().unwrap(), CardPoll::NoCard);
    assert!(!r.card_present().unwrap());

    // Every card type through the vendor dialect.
    for (name, card) in SimCard::library() {
        let v = insert(port, contents(&card, &[1, 2, 3, 4]));
        let id = poll_card(&mut r).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(id.text, card.text, "{name}");
        assert_eq!(id.extras, card.extras, "{name}");
        assert_eq!(id.photo_wlt, card.photo_wlt, "{name}");
        assert!(r.card_present().unwrap(), "{name}");
        v.remove();
        wait_absent(&mut r);
    }

    // A card whose text block is garbage: a typed error, then the next
    // good card reads.
    let mut bad = contents(&SimCard::specimen(), &[9; 4]);
    bad.text[248] = b'Q';
    let v = insert(port, bad);
    let err = poll_card(&mut r).unwrap_err();
    assert!(matches!(err, ReaderError::Decode(_)), "{err:?}");
    v.remove();
    wait_absent(&mut r);
    let v = insert(port, contents(&SimCard::specimen(), &[9; 4]));
    assert_eq!(poll_card(&mut r).unwrap().text.name.expose(), "测试样例");
    v.remove();
    wait_absent(&mut r);

    // A reader without a SAM: the card's identifier only.
    let mut uid_reader = PcscReader::open(PcscOptions {
        dialect: Dialect::UidOnly,
        ..opts.clone()
    })
    .unwrap();
    assert_eq!(uid_reader.kind(), ReaderKind::UidOnly);
    assert_eq!(uid_reader.read_uid().unwrap(), None);
    let v = insert(port, contents(&SimCard::specimen(), &[0xDE, 0xAD, 0xBE, 0xEF]));
    let deadline = Instant::now() + Duration::from_secs(5);
    let uid = loop {
        if let Some(uid) = uid_reader.read_uid().unwrap() {
            break uid;
        }
        assert!(Instant::now() < deadline, "uid never read");
    };
    assert_eq!(uid.to_hex(), "DEADBEEF");
    assert_eq!(uid_reader.poll().unwrap(), CardPoll::NoCard);
    v.remove();
    drop(uid_reader);
    wait_absent(&mut r);

    // The same event stream as the serial transport.
    let (tx, rx) = channel();
    let o = opts.clone();
    let w = watch(
        Box::new(move || Ok(Box::new(PcscReader::open(o.clone())?) as Box<dyn IdCardReader>)),
        WatchConfig {
            poll_interval: Duration::from_millis(20),
            ..WatchConfig::default()
        },
        tx,
    )
    .unwrap();
    let next = |what: &str| loop {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(ReaderEvent::CardPresent) => continue,
            Ok(ev) => return ev,
            Err(e) => panic!("no event ({what}): {e}"),
        }
    };
    assert!(matches!(next("connected"), ReaderEvent::Connected));
    let v = insert(port, contents(&SimCard::foreign_2023(), &[5; 4]));
    match next("identity") {
        ReaderEvent::IdentityRead(id) => {
            assert_eq!(id.text.doc_type, kiosk_idcard::DocType::ForeignPermanent2023)
        }
        other => panic!("{other:?}"),
    }
    v.remove();
    assert!(matches!(next("removed"), ReaderEvent::CardRemoved));

    // The daemon stops: the reader reports itself disconnected.
    let stopped = Instant::now();
    stop(&mut daemon.child);
    assert!(matches!(next("disconnected"), ReaderEvent::Disconnected(_)));
    assert!(stopped.elapsed() < Duration::from_secs(5));
    drop(w);
    assert!(r.poll().unwrap_err().is_disconnect());
}
