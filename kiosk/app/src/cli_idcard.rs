//! `kiosk idcard read|decode`: the card reader commands for technicians.
//!
//! `read` asks the configured reader (serial, or PC/SC with `--pcsc`) for a
//! card once and prints the decoded record as JSON. `decode FILE` (`-` for
//! stdin) decodes a captured byte stream (hex text, spaces and newlines
//! allowed, `#` comments; or raw bytes) and prints every frame as one JSON
//! line: the typed record of a read reply, the appended address, or the
//! status. A bad frame (checksum, length, truncated, a failure status) is
//! printed too, and the command then exits non-zero with a precise message
//! on stderr. Names, document numbers, pass numbers and addresses are
//! masked unless `--reveal` is given.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Subcommand;
use kiosk::Config;
use kiosk_idcard::dump::{decode_capture, identity_json, parse_capture};
use kiosk_idcard::photo::{decode_photo, Photo, PhotoDecoder, PhotoDecoderConfig};
use kiosk_idcard::{CardPoll, Date, IdCardReader, SerialOptions, SerialReader};
use kiosk_idcard_pcsc::{Dialect, PcscOptions, PcscReader};

/// The `kiosk idcard` subcommands.
#[derive(Subcommand, Debug)]
pub enum IdcardCmd {
    /// Ask the reader for a card once and print the decoded record (masked).
    Read {
        /// Serial device path; defaults to the configured one.
        #[arg(long)]
        device: Option<PathBuf>,
        /// Use the PC/SC reader whose name contains this text instead of
        /// the serial reader ("" takes the first PC/SC reader).
        #[arg(long)]
        pcsc: Option<String>,
        /// With --pcsc: the reader has no SAM; print the card UID only.
        #[arg(long, requires = "pcsc")]
        uid_only: bool,
        /// Also read the fingerprint block (its size is printed, never the data).
        #[arg(long)]
        fingerprint: bool,
        /// The vendor WLT photo decoder library, to check that photos decode.
        #[arg(long)]
        photo_decoder: Option<PathBuf>,
        /// How long to wait for a card to be placed, in seconds.
        #[arg(long, default_value_t = 0)]
        wait: u64,
        /// Show names, numbers and addresses unmasked.
        #[arg(long)]
        reveal: bool,
    },
    /// Decode a captured byte stream (hex text or raw bytes; `-` for stdin)
    /// and print each frame as JSON.
    Decode {
        /// The capture file, or `-` for stdin.
        file: PathBuf,
        /// Show names, numbers and addresses unmasked.
        #[arg(long)]
        reveal: bool,
    },
}

/// Runs one `kiosk idcard` subcommand.
pub fn run(config: &Path, cmd: IdcardCmd) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd {
        IdcardCmd::Decode { file, reveal } => {
            let mut input = Vec::new();
            if file.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_end(&mut input)
                    .context("cannot read stdin")?;
            } else {
                input = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
            }
            decode(&input, reveal, &mut out)
        }
        IdcardCmd::Read {
            device,
            pcsc,
            uid_only,
            fingerprint,
            photo_decoder,
            wait,
            reveal,
        } => {
            let cfg = if config.exists() {
                Config::load(config)?
            } else {
                Config::default()
            };
            let mut reader: Box<dyn IdCardReader> = match pcsc {
                Some(name) => Box::new(
                    PcscReader::open(PcscOptions {
                        reader_name: (!name.is_empty()).then_some(name),
                        dialect: if uid_only {
                            Dialect::UidOnly
                        } else {
                            Dialect::VendorSam
                        },
                        wait: Duration::from_millis(300),
                    })
                    .context("cannot open the pc/sc reader")?,
                ),
                None => {
                    let path = device.unwrap_or(cfg.idcard.device.clone());
                    let mut opts = SerialOptions::new(
                        cfg.idcard.baud,
                        Duration::from_millis(cfg.idcard.reply_timeout_ms),
                    );
                    opts.read_fingerprint = fingerprint;
                    let r = SerialReader::open_with(&path, &opts)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    if let Some(rate) = r.baud_rate() {
                        writeln!(out, "reader answers at {rate} baud")?;
                    }
                    Box::new(r)
                }
            };
            let decoder = photo_decoder
                .map(|p| PhotoDecoder::load(&PhotoDecoderConfig::new(p)))
                .transpose()?;
            read(
                reader.as_mut(),
                decoder.as_ref(),
                Duration::from_secs(wait),
                reveal,
                &mut out,
            )
        }
    }
}

/// Decodes a capture and prints one JSON line per frame; an error naming
/// every bad frame when there is one.
pub fn decode(input: &[u8], reveal: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let bytes = parse_capture(input)?;
    if bytes.is_empty() {
        bail!("the capture is empty");
    }
    let dump = decode_capture(&bytes, reveal);
    for entry in &dump.entries {
        writeln!(out, "{entry}")?;
    }
    if dump.entries.is_empty() {
        bail!("no frame in {} bytes", bytes.len());
    }
    if !dump.problems.is_empty() {
        let list: Vec<String> = dump.problems.iter().map(ToString::to_string).collect();
        bail!("{} bad frame(s): {}", dump.problems.len(), list.join("; "));
    }
    Ok(())
}

/// Reads one card (waiting up to `wait` for it) and prints the record.
pub fn read(
    reader: &mut dyn IdCardReader,
    decoder: Option<&PhotoDecoder>,
    wait: Duration,
    reveal: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + wait;
    let started = Instant::now();
    if reader.kind() == kiosk_idcard::ReaderKind::UidOnly {
        loop {
            if let Some(uid) = reader.read_uid()? {
                let shown = if reveal {
                    uid.to_hex()
                } else {
                    kiosk_privacy::mask(&uid.to_hex(), 4)
                };
                writeln!(out, "{}", serde_json::json!({ "card_uid": shown }))?;
                return Ok(());
            }
            if Instant::now() >= deadline {
                writeln!(out, "reader answers; no card on it")?;
                return Ok(());
            }
        }
    }
    loop {
        match reader.poll()? {
            CardPoll::Card(id) => {
                let took = started.elapsed();
                let mut record = identity_json(&id, reveal, today());
                record["photo"] = match decode_photo(decoder, &id.photo_wlt) {
                    Photo::Decoded(p) => {
                        serde_json::json!(format!("decoded {}x{}", p.width, p.height))
                    }
                    Photo::NotDecodable(why) => serde_json::json!(why),
                };
                writeln!(out, "{record}")?;
                writeln!(out, "card read in {} ms", took.as_millis())?;
                return Ok(());
            }
            CardPoll::NoCard if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100))
            }
            CardPoll::NoCard => {
                writeln!(out, "reader answers; no card on it")?;
                return Ok(());
            }
        }
    }
}

/// Today's date; `None` only if the clock is outside the card's range.
fn today() -> Option<Date> {
    use chrono::Datelike;
    let now = chrono::Local::now().date_naive();
    Date::new(
        u16::try_from(now.year()).ok()?,
        now.month() as u8,
        now.day() as u8,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use idcard_proto::{encode_read_reply, encode_reply, encode_text, Status};
    use kiosk_idcard::sim::{self, SimCard};

    fn capture_hex() -> String {
        let mut bytes = Vec::new();
        encode_reply(Status::CardFound, &[0; 4], &mut bytes);
        let card = SimCard::hmt_permit();
        let mut text = encode_text(&card.text);
        idcard_proto::encode_text_extras(&mut text, &card.extras);
        encode_reply(
            Status::Ok,
            &encode_read_reply(&text, &card.photo_wlt, None),
            &mut bytes,
        );
        bytes
            .chunks(16)
            .map(|l| {
                l.iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn decode_prints_json_per_frame_masked() {
        let mut out = Vec::new();
        decode(capture_hex().as_bytes(), false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["kind"], "card_found");
        let r = &lines[1]["record"];
        assert_eq!(r["document_type"], "hmt_permit");
        assert_eq!(r["sex"], "男");
        assert_eq!(r["valid_to"], "2024-01-01");
        assert!(r["pass_number"].as_str().unwrap().contains('*'));
        assert!(
            !text.contains("810000199003070015")
                && !text.contains("样例港")
                && !text.contains("H00000001")
        );

        let mut out = Vec::new();
        decode(capture_hex().as_bytes(), true, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("810000199003070015") && text.contains("H00000001"));
    }

    #[test]
    fn decode_fails_precisely_on_a_bad_frame() {
        let mut bytes = Vec::new();
        encode_reply(Status::CardFound, &[0; 4], &mut bytes);
        let mut bad = Vec::new();
        encode_reply(Status::Ok, &[1, 2, 3], &mut bad);
        *bad.last_mut().unwrap() ^= 0x55;
        bytes.extend(&bad);
        let mut out = Vec::new();
        let err = decode(&bytes, false, &mut out).unwrap_err().to_string();
        assert!(
            err.starts_with("1 bad frame(s): frame 2 at byte 15: bad checksum"),
            "{err}"
        );
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);

        let mut out = Vec::new();
        let err = decode(b"AA AA AA 96 69 05 08 00", false, &mut out)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "1 bad frame(s): frame 1 at byte 0: truncated frame: 8 of 1295 bytes"
        );
        let mut s41 = Vec::new();
        encode_reply(Status::ReadFailed, &[], &mut s41);
        let err = decode(&s41, false, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("reader status read failed (41)"), "{err}");
        assert!(decode(b"zz", false, &mut Vec::new()).is_err());
        assert!(decode(b"", false, &mut Vec::new()).is_err());
    }

    #[test]
    fn read_prints_the_record_from_the_simulator() {
        let (_sim, control, path) = sim::spawn().unwrap();
        control.insert(SimCard::expired());
        control.set_appended_address(Some("北京市海淀区样例路9号"));
        let mut reader = SerialReader::open(&path, 9_600, Duration::from_millis(500)).unwrap();
        let mut out = Vec::new();
        read(&mut reader, None, Duration::ZERO, true, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let record: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(record["expired"], true);
        assert_eq!(record["current_address"], "北京市海淀区样例路9号");
        assert_eq!(record["photo"], "photo not decodable on this terminal");
        assert_eq!(record["name"], "测试样例");
    }
}
