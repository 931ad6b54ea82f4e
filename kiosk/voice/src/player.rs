//! Playback with `aplay` (alsa-utils): one child process per prompt, the WAV
//! piped to its standard input, on a thread of its own.
//!
//! A separate process keeps ALSA out of the kiosk: a wedged or missing sound
//! device cannot stall or crash the UI, and there is no audio library to
//! link. A new prompt stops the one still playing, so what is heard always
//! belongs to the screen that is shown.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{wav, Prompt, VoiceError, VoiceNote};

/// Where and how loud prompts are played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerConfig {
    /// The ALSA device (`aplay -D`): `default`, `plughw:1,0`, or `null` for silence.
    pub device: String,
    /// 0 to 100 percent of the recorded level.
    pub volume: u8,
    /// A directory of recordings that replace the built-in ones (`<id>.wav`).
    pub dir: Option<PathBuf>,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        PlayerConfig {
            device: "default".into(),
            volume: 100,
            dir: None,
        }
    }
}

/// The WAV to play for a prompt: the replacement recording when there is
/// one, else the built-in one, at the configured volume.
pub fn load(cfg: &PlayerConfig, prompt: Prompt) -> Result<Vec<u8>, VoiceError> {
    if let Some(dir) = &cfg.dir {
        let path = dir.join(format!("{}.wav", prompt.id()));
        if path.is_file() {
            let bytes = std::fs::read(&path).map_err(|source| VoiceError::Read {
                path: path.clone(),
                source,
            })?;
            return wav::scaled(&bytes, cfg.volume);
        }
    }
    let built = prompt
        .built_wav()
        .ok_or(VoiceError::NotBuilt(prompt.id()))?;
    wav::scaled(built, cfg.volume)
}

/// One `aplay` playing one WAV.
#[derive(Debug)]
pub struct Playing {
    child: Child,
    writer: Option<JoinHandle<()>>,
}

impl Playing {
    /// Starts `aplay` on the configured device and feeds it the WAV.
    pub fn start(cfg: &PlayerConfig, wav: Vec<u8>) -> Result<Playing, VoiceError> {
        Playing::spawn(cfg, wav)
    }

    /// Plays a voice note on the configured device at the configured volume:
    /// decoded to a WAV in a buffer that is wiped once `aplay` has it.
    pub fn start_note(cfg: &PlayerConfig, note: &VoiceNote) -> Result<Playing, VoiceError> {
        Playing::spawn(cfg, note.to_wav(cfg.volume)?)
    }

    fn spawn<B: AsRef<[u8]> + Send + 'static>(
        cfg: &PlayerConfig,
        wav: B,
    ) -> Result<Playing, VoiceError> {
        let mut child = Command::new("aplay")
            .args(["-q", "-D", &cfg.device, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(VoiceError::Spawn)?;
        // Writing blocks while aplay plays, so it happens on its own short-lived
        // thread; a stopped aplay ends it with a broken pipe.
        let writer = child.stdin.take().and_then(|mut stdin| {
            std::thread::Builder::new()
                .name("voice-pipe".into())
                .spawn(move || {
                    let _ = stdin.write_all(wav.as_ref());
                })
                .ok()
        });
        Ok(Playing { child, writer })
    }

    /// Waits for the end of the prompt.
    pub fn wait(mut self) -> Result<(), VoiceError> {
        let status = self.child.wait().map_err(VoiceError::Spawn)?;
        self.finish(status)
    }

    /// `None` while still playing, then how it ended.
    pub fn poll(&mut self) -> Option<Result<(), VoiceError>> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(self.finish(status)),
            Err(e) => Some(Err(VoiceError::Spawn(e))),
        }
    }

    /// Stops the prompt at once.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }

    fn finish(&mut self, status: ExitStatus) -> Result<(), VoiceError> {
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if status.success() {
            return Ok(());
        }
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        // aplay's own line comes last, after ALSA's library chatter.
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(VoiceError::Aplay(if last.is_empty() {
            status.to_string()
        } else {
            last.trim().to_string()
        }))
    }
}

/// Plays prompts on a thread of its own. Dropping it stops the thread and
/// the prompt playing.
#[derive(Debug)]
pub struct Player {
    /// A prompt to play; `None` stops the one playing.
    tx: Sender<Option<Prompt>>,
}

impl Player {
    /// Starts the voice thread.
    pub fn spawn(cfg: PlayerConfig) -> Result<Player, VoiceError> {
        let (tx, rx) = mpsc::channel::<Option<Prompt>>();
        std::thread::Builder::new()
            .name("voice".into())
            .spawn(move || {
                let mut current: Option<Playing> = None;
                // True while playback works; the first failure after that is logged.
                let mut working = true;
                let mut report = |res: Result<(), VoiceError>| match res {
                    Ok(()) => working = true,
                    Err(e) if working => {
                        working = false;
                        log::warn!("spoken prompts unavailable: {e}");
                    }
                    Err(e) => log::debug!("spoken prompt not played: {e}"),
                };
                loop {
                    match rx.recv_timeout(Duration::from_millis(100)) {
                        Ok(None) => {
                            if let Some(p) = current.take() {
                                p.stop();
                            }
                        }
                        Ok(Some(prompt)) => {
                            if let Some(p) = current.take() {
                                p.stop();
                            }
                            match load(&cfg, prompt).and_then(|wav| Playing::start(&cfg, wav)) {
                                Ok(p) => current = Some(p),
                                Err(e) => report(Err(e)),
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            if let Some(res) = current.as_mut().and_then(Playing::poll) {
                                current = None;
                                report(res);
                            }
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                if let Some(p) = current.take() {
                    p.stop();
                }
            })
            .map_err(VoiceError::Thread)?;
        Ok(Player { tx })
    }

    /// Plays a prompt, stopping the one still playing. Never blocks.
    pub fn play(&self, prompt: Prompt) {
        let _ = self.tx.send(Some(prompt));
    }

    /// Stops the prompt playing, if any (the microphone goes on, or a voice
    /// note plays). Never blocks.
    pub fn hush(&self) {
        let _ = self.tx.send(None);
    }
}
