//! Recording through libasound for real, without a microphone: this test
//! binary points `ALSA_CONFIG_PATH` at a configuration of its own, which
//! includes the system's `/usr/share/alsa/alsa.conf` and adds capture devices
//! of ALSA's `file` plugin over a `null` slave. The `file` plugin's `infile`
//! replaces what the null device "captures" with raw S16_LE samples, so the
//! recorder opens, configures and reads a real ALSA PCM.
//!
//! The null device delivers as fast as it is read, and at the end of its
//! `infile` the file plugin (alsa-lib 1.2.8) goes on delivering blocks it
//! did not fill, which the recorder reads as silence. Nothing here depends on
//! that speed or on the wall clock (deadlines only catch a hang):
//!
//! - a device backed by a regular file is recorded with `max_seconds` equal
//!   to the file's length (a whole number of seconds), or shorter, so the
//!   recording stops by itself exactly there;
//! - a device backed by a FIFO delivers what the test wrote into it and then
//!   blocks inside libasound, so the test knows how much was captured before
//!   it stops the recording; a FIFO the test never writes is a device that
//!   delivers nothing.

mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kiosk_voice::{CaptureConfig, Recorder, Recording, VoiceError, SAMPLE_RATE, TRIM_MARGIN};
use support::{extent, frame_levels, mix_into, noise, raw_le, speech, FRAME};

const RATE: usize = SAMPLE_RATE as usize;

/// What the test devices play.
struct Inputs {
    dir: PathBuf,
    /// 1 s of room noise, the spoken sentence, and room noise up to 8 s.
    speech: Vec<i16>,
    /// Where the sentence lies in `speech` (first and past-the-last sample
    /// whose magnitude reaches 500, -36 dBFS).
    speech_extent: (usize, usize),
    /// The sentence alone.
    sentence: Vec<i16>,
}

/// The regular files behind devices `kiosk-test-<name>`.
const FILES: [&str; 3] = ["speech", "silence", "long"];
/// The FIFOs behind devices `kiosk-test-<name>`, one per test.
const FIFOS: [&str; 4] = ["stop", "meter", "nothing", "drop"];

/// Writes the input files, the FIFOs and the ALSA configuration, once per
/// test binary, before anything touches libasound.
fn setup() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let dir = test_dir();
        let sentence = speech("请帮我看看这个问题，谢谢。", 0.5);
        assert!(
            sentence.len() < 6 * RATE,
            "the sentence should take under 6 s: {}",
            sentence.len()
        );
        let mut input = noise(8 * RATE, 20, 1);
        mix_into(&mut input, &sentence, RATE);
        let (first, last) = extent(&sentence, 500).expect("espeak-ng spoke");
        let speech_extent = (RATE + first, RATE + last);
        let mut long = Vec::new();
        while long.len() < 6 * RATE {
            long.extend_from_slice(&sentence);
        }
        long.truncate(6 * RATE);

        let contents = [
            raw_le(&input),
            raw_le(&noise(3 * RATE, 20, 2)),
            raw_le(&long),
        ];
        let mut conf = String::from("</usr/share/alsa/alsa.conf>\n");
        for (name, bytes) in FILES.iter().zip(&contents) {
            let path = dir.join(format!("{name}.raw"));
            std::fs::write(&path, bytes).expect("write an input file");
            conf.push_str(&device_conf(name, &path));
        }
        for name in FIFOS {
            let path = dir.join(format!("{name}.fifo"));
            nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
            conf.push_str(&device_conf(name, &path));
        }
        let conf_path = dir.join("asound.conf");
        std::fs::write(&conf_path, conf).expect("write the alsa configuration");
        // Set once, before any test opens a device (each calls setup()
        // first), so no other thread reads the environment meanwhile.
        std::env::set_var("ALSA_CONFIG_PATH", &conf_path);
        Inputs {
            dir,
            speech: input,
            speech_extent,
            sentence,
        }
    })
}

/// The ALSA definition of capture device `kiosk-test-<name>`, reading `infile`.
fn device_conf(name: &str, infile: &Path) -> String {
    format!(
        "pcm.kiosk-test-{name} {{\n    type file\n    slave.pcm {{ type null }}\n    \
         file \"/dev/null\"\n    infile \"{}\"\n    format \"raw\"\n}}\n",
        infile.display()
    )
}

/// A directory of this process in Cargo's temporary directory for tests;
/// those of earlier runs are removed.
fn test_dir() -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kiosk-voice-capture");
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok();
            if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = base.join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

/// Opens the FIFO of device `kiosk-test-<name>` for writing (read-write, so
/// that neither side's open blocks), with room for 32 s of audio, and writes
/// `samples` into it at once. Closing it is the device's end of file.
fn feed_fifo(name: &str, samples: &[i16]) -> File {
    let path = setup().dir.join(format!("{name}.fifo"));
    let mut fifo = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open the fifo");
    nix::fcntl::fcntl(&fifo, nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20))
        .expect("a 1 MiB pipe buffer");
    std::io::Write::write_all(&mut fifo, &raw_le(samples)).expect("write into the fifo");
    fifo
}

fn config(device: &str, max_seconds: u32) -> CaptureConfig {
    setup();
    CaptureConfig {
        device: format!("kiosk-test-{device}"),
        max_seconds,
        // Generous: only the test of a device that delivers nothing wants it.
        no_input_timeout: Duration::from_secs(30),
        ..CaptureConfig::default()
    }
}

/// Waits (polling) until `done`, failing after 30 s: only a hang takes that long.
fn wait_for(rec: &Recording, done: impl Fn(&Recording) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(rec) {
        assert!(Instant::now() < deadline, "the recording hangs: {rec:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn speech_is_recorded_trimmed_encoded_and_decodes_to_its_length() {
    let inputs = setup();
    let rec = Recorder::start(&config("speech", 8)).expect("the file-backed device opens");
    wait_for(&rec, Recording::is_finished);
    assert_eq!(rec.elapsed(), Duration::from_secs(8));
    let note = rec.stop().expect("speech gives a note");
    let decoded = note.decode().expect("the note decodes");
    assert_eq!(
        u128::from(note.duration_ms),
        decoded.duration().as_millis(),
        "{note:?}"
    );

    // The length: the speech plus the margin at both ends, give or take 0.3 s.
    let (first, last) = inputs.speech_extent;
    let margin = TRIM_MARGIN.as_secs_f64();
    let spoken = (last - first) as f64 / RATE as f64;
    let got = decoded.len() as f64 / RATE as f64;
    assert!(
        (got - (spoken + 2.0 * margin)).abs() <= 0.3,
        "decoded {got:.3} s for {spoken:.3} s of speech"
    );

    // Where the note sits in the input: the offset (a whole frame, as the
    // trimming cuts) at which the frame levels agree best.
    let input = frame_levels(&inputs.speech);
    let output = frame_levels(&decoded);
    let score = |k: usize| -> f32 {
        output
            .iter()
            .zip(&input[k..])
            .map(|(a, b)| (a - b).abs().min(30.0))
            .sum::<f32>()
            / output.len() as f32
    };
    let best = (0..=input.len() - output.len())
        .min_by(|&a, &b| score(a).total_cmp(&score(b)))
        .expect("the note is shorter than the input");
    let expected = first.saturating_sub(RATE * 3 / 10) / FRAME;
    assert!(
        best.abs_diff(expected) <= 3,
        "the note starts at frame {best}, the speech less the margin at {expected}"
    );
    assert!(
        score(best) < 6.0,
        "mean level difference {} dB",
        score(best)
    );
    // Speech energy where the input had speech, quiet where it had none.
    let (mut loud, mut quiet) = (0, 0);
    for (i, &out) in output.iter().enumerate() {
        let inp = input[best + i];
        if inp > -35.0 {
            loud += 1;
            assert!(
                out > inp - 10.0,
                "frame {i}: {out:.1} dBFS for {inp:.1} dBFS"
            );
        } else if inp < -60.0 {
            quiet += 1;
            assert!(out < -45.0, "frame {i}: {out:.1} dBFS in silence");
        }
    }
    assert!(loud > 50 && quiet > 10, "{loud} loud, {quiet} quiet frames");
}

#[test]
fn silence_is_refused_as_no_speech() {
    let rec = Recorder::start(&config("silence", 3)).expect("the device opens");
    wait_for(&rec, Recording::is_finished);
    assert!(matches!(rec.stop(), Err(VoiceError::NoSpeech)));
}

#[test]
fn a_note_at_the_length_limit_stops_by_itself() {
    let rec = Recorder::start(&config("long", 2)).expect("the device opens");
    wait_for(&rec, Recording::is_finished);
    assert_eq!(rec.elapsed(), Duration::from_secs(2));
    let note = rec.stop().expect("speech gives a note");
    assert!(
        note.duration_ms <= 2000 && note.duration_ms > 1000,
        "{note:?}"
    );
    assert!(note.decode().unwrap().len() <= 2 * RATE);
}

#[test]
fn stop_ends_a_recording_before_its_limit() {
    let inputs = setup();
    let mut input = noise(RATE / 2, 20, 3);
    input.extend_from_slice(&inputs.sentence);
    input.extend(noise(RATE, 20, 4));
    let fifo = feed_fifo("stop", &input);
    let rec = Recorder::start(&config("stop", 180)).expect("the device opens");
    wait_for(&rec, |r| {
        r.elapsed() >= support::samples_duration(input.len())
    });
    assert!(!rec.is_finished());
    // The end of the FIFO lets the thread out of its read to see the stop.
    drop(fifo);
    let note = rec.stop().expect("speech gives a note");
    let (first, last) = extent(&inputs.sentence, 500).unwrap();
    let want = (last - first) as f64 / RATE as f64 + 2.0 * TRIM_MARGIN.as_secs_f64();
    let got = f64::from(note.duration_ms) / 1000.0;
    assert!((got - want).abs() <= 0.3, "{got:.3} s for {want:.3} s");
}

#[test]
fn the_meter_shows_the_level() {
    // One second of a -20 dBFS tone (peak 0.1414 of full scale).
    let tone: Vec<i16> = (0..RATE)
        .map(|i| {
            (4634.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / RATE as f64).sin()) as i16
        })
        .collect();
    let fifo = feed_fifo("meter", &tone);
    let rec = Recorder::start(&config("meter", 180)).expect("the device opens");
    wait_for(&rec, |r| r.elapsed() >= Duration::from_secs(1));
    // Two thirds of the way from -60 dBFS to full scale.
    let level = rec.level();
    assert!((level - 2.0 / 3.0).abs() < 0.02, "{level}");
    drop(fifo);
    drop(rec);
}

#[test]
fn a_device_that_delivers_nothing_ends_with_an_error_not_a_hang() {
    // The FIFO stays open and empty: the capture thread blocks inside
    // libasound, the worst a wedged driver could do.
    let fifo = feed_fifo("nothing", &[]);
    let cfg = CaptureConfig {
        no_input_timeout: Duration::from_millis(500),
        ..config("nothing", 60)
    };
    let rec = Recorder::start(&cfg).expect("the device opens");
    wait_for(&rec, Recording::is_finished);
    assert_eq!(rec.elapsed(), Duration::ZERO);
    let started = Instant::now();
    let err = rec.stop().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1), "stop waited");
    assert!(matches!(err, VoiceError::NoInput { .. }), "{err:?}");
    assert!(err.to_string().contains("kiosk-test-nothing"), "{err}");
    // The thread left behind ends at the FIFO's end of file.
    drop(fifo);
}

#[test]
fn a_missing_device_is_a_clear_error_at_once() {
    setup();
    for device in ["kiosk-no-such-mic", "bad\0name", ""] {
        let cfg = CaptureConfig {
            device: device.into(),
            ..CaptureConfig::default()
        };
        let err = Recorder::start(&cfg).unwrap_err();
        assert!(matches!(err, VoiceError::Capture(_)), "{device:?}: {err:?}");
    }
}

#[test]
fn dropping_a_recording_stops_it_and_frees_the_device() {
    let fifo = feed_fifo("drop", &noise(RATE, 3000, 5));
    let rec = Recorder::start(&config("drop", 180)).expect("the device opens");
    wait_for(&rec, |r| r.elapsed() >= Duration::from_secs(1));
    drop(fifo);
    let started = Instant::now();
    drop(rec);
    assert!(started.elapsed() < Duration::from_secs(1));
    // The device can be opened again.
    let fifo = feed_fifo("drop", &noise(RATE, 3000, 6));
    let rec = Recorder::start(&config("drop", 1)).expect("the device opens again");
    wait_for(&rec, Recording::is_finished);
    assert!(rec.stop().is_ok());
    drop(fifo);
}
