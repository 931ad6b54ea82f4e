//! Recording a petitioner's voice note from ALSA (the `alsa` crate over
//! Debian's libasound2) on a thread of its own.
//!
//! The device is opened for 16 kHz mono S16_LE, exactly. A microphone whose
//! hardware runs at another rate or in stereo needs a converting ALSA device:
//! `plughw:CARD=USBMic` (ALSA's `plug` converts rate, channels and format), or
//! a named device of the hall's ALSA configuration, for example in
//! `/etc/asound.conf`:
//!
//! ```text
//! pcm.kiosk-mic {
//!     type plug
//!     slave { pcm "hw:CARD=USBMic"; rate 48000 }
//! }
//! ```
//!
//! A device that cannot deliver that format is refused when the recording
//! starts, with a message that says so; the recorder never resamples itself.
//!
//! The capture thread reads without blocking and waits at most 100 ms at a
//! time, so stopping is prompt, and a device that delivers nothing ends the
//! recording with [`VoiceError::NoInput`] after
//! [`CaptureConfig::no_input_timeout`] instead of hanging. Should a call
//! into ALSA block all the same (a wedged driver, a plugin reading a pipe),
//! the [`Recording`] sees the thread's heartbeat stop and reports the same
//! error without waiting for it. At [`CaptureConfig::max_seconds`] the
//! recording stops by itself.
//!
//! The samples are kept in a [`Pcm`] allocated once for the whole maximal
//! length (5.8 MB for 3 minutes), wiped when dropped; stopping trims the
//! silence before and after the speech ([`speech_span`]) and encodes the rest
//! ([`VoiceNote::encode`]). Nothing about the audio is logged.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};
use zeroize::Zeroizing;

use crate::note::{VoiceNote, MAX_NOTE_SECONDS};
use crate::pcm::{meter, rms_dbfs, samples_duration, speech_span, Pcm, SAMPLE_RATE};
use crate::VoiceError;

/// The default speech threshold: the RMS level of a 20 ms frame, in dBFS, at
/// and above which the frame counts as speech.
///
/// Measured with the benchmark (`voice-bench`, its threshold table) on an
/// 8.2 s espeak-ng sentence, a close talker (peaks near -6 dBFS) and a soft
/// one 20 dB quieter, mixed into noise floors of -60 dBFS (a quiet hall, a
/// USB microphone) and -50 dBFS (a noisy one). At -45 dBFS the close talker's
/// speech is kept whole and the soft talker's but for 0.3 s of quiet endings
/// (which the 0.3 s margin brings back), and either floor alone is refused as
/// no speech. At -50 dBFS the noisy floor itself counts as speech; at -40 the
/// soft talker loses 0.8 s, and at -35 is refused outright. A hall with a
/// louder floor raises the threshold in its configuration.
pub const DEFAULT_SPEECH_THRESHOLD_DBFS: f32 = -45.0;

/// Samples read at most per call (100 ms).
const CHUNK: usize = 1_600;

/// The longest wait for the device in one go, so that a stop is seen promptly.
const WAIT_MS: u32 = 100;

/// How a voice note is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureConfig {
    /// The ALSA capture device: `default`, `plughw:CARD=USBMic`, `kiosk-mic`
    /// (a device of the hall's ALSA configuration), … It must deliver 16 kHz
    /// mono S16_LE; a `plug` device converts whatever the microphone has.
    pub device: String,
    /// The longest note, in seconds (default 180, at most 600): the recording
    /// stops by itself there.
    pub max_seconds: u32,
    /// The RMS level in dBFS of a 20 ms frame that counts as speech (default
    /// [`DEFAULT_SPEECH_THRESHOLD_DBFS`]); quieter frames at the start and the
    /// end are trimmed, and a note with no louder frame is refused.
    pub speech_threshold_dbfs: f32,
    /// How long the device may deliver nothing before the recording ends with
    /// [`VoiceError::NoInput`] (default 3 s, at least 0.3 s).
    pub no_input_timeout: Duration,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            device: "default".into(),
            max_seconds: 180,
            speech_threshold_dbfs: DEFAULT_SPEECH_THRESHOLD_DBFS,
            no_input_timeout: Duration::from_secs(3),
        }
    }
}

/// Starts recordings.
#[derive(Debug, Clone, Copy)]
pub struct Recorder;

/// What the capture thread and the [`Recording`] share: no audio, only
/// numbers.
#[derive(Debug, Default)]
struct Shared {
    /// The meter level, an `f32`'s bits.
    level: AtomicU32,
    /// Samples captured so far.
    samples: AtomicU64,
    /// Milliseconds from the start to the thread's last turn of its loop: it
    /// turns at least every 100 ms unless a call into ALSA blocks.
    beat_ms: AtomicU64,
    /// Set by the thread when it ended by itself.
    finished: AtomicBool,
    /// Set to ask the thread to end.
    stop: AtomicBool,
}

/// A recording in progress. [`Recording::stop`] ends it and gives the note;
/// dropping it ends it too and wipes what was captured.
///
/// Neither ever waits long for the capture thread: should a call into ALSA
/// block (a wedged driver), the recording counts as failed with
/// [`VoiceError::NoInput`] once the device has been silent for
/// [`CaptureConfig::no_input_timeout`], and the thread is left to end (and
/// wipe its samples) whenever that call returns.
#[derive(Debug)]
pub struct Recording {
    shared: Arc<Shared>,
    result: Receiver<Result<Pcm, VoiceError>>,
    thread: Option<JoinHandle<()>>,
    started: Instant,
    device: String,
    no_input: Duration,
    threshold_dbfs: f32,
}

/// The shortest no-input time: a few of the thread's 100 ms turns.
const MIN_NO_INPUT: Duration = Duration::from_millis(300);

/// How long `stop` and `drop` wait for the thread once told to end: it
/// looks at least every 100 ms.
const END_WAIT: Duration = Duration::from_millis(500);

impl Recorder {
    /// Opens the capture device and starts recording on a thread of its own.
    /// A device that does not exist, is busy, or cannot deliver 16 kHz mono
    /// S16_LE is an error here, at once.
    pub fn start(cfg: &CaptureConfig) -> Result<Recording, VoiceError> {
        let pcm = open(&cfg.device)?;
        let shared = Arc::new(Shared::default());
        let max_seconds = cfg.max_seconds.clamp(1, MAX_NOTE_SECONDS);
        let no_input = cfg.no_input_timeout.max(MIN_NO_INPUT);
        let started = Instant::now();
        let limits = Limits {
            device: cfg.device.clone(),
            max_samples: max_seconds as usize * SAMPLE_RATE as usize,
            no_input,
            started,
        };
        let (tx, result) = mpsc::sync_channel(1);
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("voice-capture".into())
            .spawn(move || {
                let res = capture(&pcm, &thread_shared, &limits);
                let _ = pcm.drop();
                drop(pcm);
                thread_shared.level.store(0f32.to_bits(), Ordering::Relaxed);
                if !thread_shared.stop.load(Ordering::Acquire) {
                    thread_shared.finished.store(true, Ordering::Release);
                }
                // Nobody listens once the Recording is gone: the samples are
                // then dropped, and wiped, here.
                let _ = tx.send(res);
            })
            .map_err(VoiceError::Thread)?;
        Ok(Recording {
            shared,
            result,
            thread: Some(thread),
            started,
            device: cfg.device.clone(),
            no_input,
            threshold_dbfs: cfg.speech_threshold_dbfs,
        })
    }
}

impl Recording {
    /// The current level for a meter, 0.0 (-60 dBFS and below) to 1.0 (full
    /// scale), linear in dB, of the last block read (20 to 100 ms).
    pub fn level(&self) -> f32 {
        f32::from_bits(self.shared.level.load(Ordering::Relaxed))
    }

    /// How much audio has been captured (the recording's own clock: as long
    /// as it has run, for a real microphone).
    pub fn elapsed(&self) -> Duration {
        samples_duration(self.shared.samples.load(Ordering::Relaxed) as usize)
    }

    /// True once the recording has ended by itself: at the length limit
    /// (then [`Recording::stop`] gives the note), or because the device
    /// failed or stalled (then `stop` gives the error).
    pub fn is_finished(&self) -> bool {
        self.shared.finished.load(Ordering::Acquire) || self.stalled()
    }

    /// Ends the recording, trims the silence around the speech, and encodes
    /// the rest. [`VoiceError::NoSpeech`] when nothing reached the threshold;
    /// the capture's own error when it failed.
    pub fn stop(mut self) -> Result<VoiceNote, VoiceError> {
        let mut pcm = self.end()?;
        let span = speech_span(&pcm, self.threshold_dbfs).ok_or(VoiceError::NoSpeech)?;
        pcm.keep(span);
        VoiceNote::encode(&pcm)
    }

    /// True when the thread has not turned its loop for the no-input time:
    /// it is stuck in a call into ALSA.
    fn stalled(&self) -> bool {
        let beat = Duration::from_millis(self.shared.beat_ms.load(Ordering::Relaxed));
        self.thread.is_some() && self.started.elapsed().saturating_sub(beat) > self.no_input
    }

    /// Asks the thread to end and takes its samples, waiting at most
    /// [`END_WAIT`], and not at all for a thread that is stuck.
    fn end(&mut self) -> Result<Pcm, VoiceError> {
        self.shared.stop.store(true, Ordering::Release);
        let res = match self.result.try_recv() {
            Ok(res) => Some(res),
            Err(_) if self.stalled() => None,
            Err(_) => self.result.recv_timeout(END_WAIT).ok(),
        };
        let thread = self.thread.take();
        match res {
            Some(res) => {
                if let Some(t) = thread {
                    // It has sent its result: it is ending.
                    let _ = t.join();
                }
                res
            }
            // Stuck in ALSA (or gone without a word): leave it behind.
            None => Err(VoiceError::NoInput {
                device: self.device.clone(),
                waited_ms: u64::try_from(self.no_input.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}

impl Drop for Recording {
    /// Stops the capture; the samples are wiped as they are dropped.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.end();
        }
    }
}

struct Limits {
    device: String,
    max_samples: usize,
    no_input: Duration,
    started: Instant,
}

fn alsa_err(device: &str, what: &str, e: alsa::Error) -> VoiceError {
    VoiceError::Capture(format!("{what} {device}: {e}"))
}

/// Opens the device for capture at 16 kHz mono S16_LE, non-blocking.
fn open(device: &str) -> Result<PCM, VoiceError> {
    let name = CString::new(device)
        .map_err(|_| VoiceError::Capture(format!("bad capture device name {device:?}")))?;
    let pcm = PCM::open(&name, Direction::Capture, true)
        .map_err(|e| alsa_err(device, "cannot open the capture device", e))?;
    {
        let hw = HwParams::any(&pcm).map_err(|e| alsa_err(device, "cannot query", e))?;
        let format = |e| {
            VoiceError::Capture(format!(
                "the capture device {device} cannot deliver 16 kHz mono S16_LE \
                 (use a plug device such as plughw:CARD=<card>): {e}"
            ))
        };
        hw.set_access(Access::RWInterleaved).map_err(format)?;
        hw.set_format(Format::S16LE).map_err(format)?;
        hw.set_channels(1).map_err(format)?;
        hw.set_rate(SAMPLE_RATE, ValueOr::Nearest).map_err(format)?;
        // 20 ms periods in a 500 ms buffer: reads come in small blocks, and a
        // busy moment of the machine does not lose audio. What the device
        // cannot do here it rounds; it is not an error.
        let _ = hw.set_period_time_near(20_000, ValueOr::Nearest);
        let _ = hw.set_buffer_time_near(500_000, ValueOr::Nearest);
        pcm.hw_params(&hw)
            .map_err(|e| alsa_err(device, "cannot set up", e))?;
    }
    let rate = pcm
        .hw_params_current()
        .and_then(|hw| hw.get_rate())
        .map_err(|e| alsa_err(device, "cannot query", e))?;
    if rate != SAMPLE_RATE {
        return Err(VoiceError::Capture(format!(
            "the capture device {device} runs at {rate} Hz, not 16 kHz"
        )));
    }
    pcm.prepare()
        .map_err(|e| alsa_err(device, "cannot prepare", e))?;
    Ok(pcm)
}

/// The capture loop: reads until asked to stop, until the length limit, or
/// until the device fails or stays silent too long.
fn capture(pcm: &PCM, shared: &Shared, limits: &Limits) -> Result<Pcm, VoiceError> {
    let device = limits.device.as_str();
    let io = pcm
        .io_i16()
        .map_err(|e| alsa_err(device, "cannot read from", e))?;
    // All the room a note may need, allocated once: no copy is left behind
    // by a reallocation.
    let mut samples = Pcm::with_capacity(limits.max_samples);
    let mut chunk = Zeroizing::new(vec![0i16; CHUNK]);
    pcm.start()
        .map_err(|e| alsa_err(device, "cannot start", e))?;
    let mut last_input = Instant::now();
    loop {
        shared.beat_ms.store(
            u64::try_from(limits.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        let room = limits.max_samples.saturating_sub(samples.len());
        if room == 0 {
            break;
        }
        // What a device leaves unwritten reads as silence, not as the last block.
        chunk.fill(0);
        match io.readi(&mut chunk[..room.min(CHUNK)]) {
            Ok(0) => {
                // Nothing now, and no error either: do not spin.
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(n) => {
                let got = &chunk[..n.min(CHUNK)];
                samples.extend(got);
                shared
                    .level
                    .store(meter(rms_dbfs(got)).to_bits(), Ordering::Relaxed);
                shared
                    .samples
                    .store(samples.len() as u64, Ordering::Relaxed);
                last_input = Instant::now();
                continue;
            }
            Err(e) if would_block(&e) => match pcm.wait(Some(WAIT_MS)) {
                Ok(_) => {}
                Err(e) => pcm
                    .try_recover(e, true)
                    .map_err(|e| alsa_err(device, "capture failed on", e))?,
            },
            // An overrun (EPIPE) or a suspend (ESTRPIPE) is recovered from;
            // anything else (ENODEV: unplugged) ends the recording.
            Err(e) => pcm
                .try_recover(e, true)
                .map_err(|e| alsa_err(device, "capture failed on", e))?,
        }
        if last_input.elapsed() >= limits.no_input {
            return Err(VoiceError::NoInput {
                device: device.to_string(),
                waited_ms: u64::try_from(limits.no_input.as_millis()).unwrap_or(u64::MAX),
            });
        }
    }
    Ok(samples)
}

/// EAGAIN: a non-blocking read found nothing to read yet.
fn would_block(e: &alsa::Error) -> bool {
    std::io::Error::from_raw_os_error(e.errno()).kind() == std::io::ErrorKind::WouldBlock
}
