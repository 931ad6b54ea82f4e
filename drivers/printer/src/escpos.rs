//! The ESC/POS subset we send, sans-IO: the job encoder, GB18030 text and
//! the DLE EOT status bytes.
//!
//! Commands follow the Epson "ESC/POS Application Programming Guide" and
//! its command reference (ESC @, ESC a, ESC E, GS !, ESC d, GS V, GS v 0,
//! GS ( k for QR model 2, DLE EOT 1/2/4) plus FS & (Chinese character mode)
//! of the Chinese-market printers, which print the two-byte GB18030 (GBK)
//! range from their built-in font. Characters outside it (four-byte
//! GB18030 sequences, which the printers have no glyphs for) become
//! [`SUBSTITUTE`].

use encoding_rs::GBK;
use qrcode::{EcLevel, QrCode};

use crate::{Align, Block, PrintJob, PrinterStatus};

/// DLE.
pub const DLE: u8 = 0x10;
/// EOT.
pub const EOT: u8 = 0x04;
/// ESC.
pub const ESC: u8 = 0x1B;
/// GS.
pub const GS: u8 = 0x1D;
/// FS.
pub const FS: u8 = 0x1C;
/// LF: print the line buffer and feed one line.
pub const LF: u8 = 0x0A;

/// Paper width in dots of an 80 mm printer at 203 dpi.
pub const PAPER_DOTS: u32 = 576;
/// Printed in place of a character the printer cannot print: 〓 (GETA
/// MARK, GB2312 A1FE), the typesetter's mark for a missing glyph.
pub const SUBSTITUTE: char = '〓';

/// DLE EOT n: which status to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StatusKind {
    /// n = 1: printer status (bit 3 offline).
    Printer = 1,
    /// n = 2: offline cause (bit 2 cover open, bit 5 paper end stop, bit 6 error).
    OfflineCause = 2,
    /// n = 4: roll paper sensor (bits 2–3 near end, bits 5–6 paper end).
    Paper = 4,
}

/// The fixed bits every DLE EOT reply carries (bits 1 and 4 set, 0 and 7 clear).
const STATUS_FIXED: u8 = 0x12;

/// The three bytes that ask for one status.
pub fn status_query(kind: StatusKind) -> [u8; 3] {
    [DLE, EOT, kind as u8]
}

/// True when `byte` has the shape of a DLE EOT reply.
pub fn is_status_byte(byte: u8) -> bool {
    byte & 0x93 == STATUS_FIXED
}

/// Folds one DLE EOT reply into `status`.
pub fn apply_status(kind: StatusKind, byte: u8, status: &mut PrinterStatus) {
    match kind {
        StatusKind::Printer => status.offline = byte & 0x08 != 0,
        StatusKind::OfflineCause => {
            status.cover_open = byte & 0x04 != 0;
            status.paper_out |= byte & 0x20 != 0;
            status.error = byte & 0x40 != 0;
        }
        StatusKind::Paper => {
            status.paper_near_end = byte & 0x0C != 0;
            status.paper_out |= byte & 0x60 != 0;
        }
    }
}

/// The reply a printer in `status` gives to `kind` (used by the simulator).
pub fn status_reply(kind: StatusKind, status: &PrinterStatus) -> u8 {
    let mut b = STATUS_FIXED;
    match kind {
        StatusKind::Printer => {
            if status.offline || !status.can_print() {
                b |= 0x08;
            }
        }
        StatusKind::OfflineCause => {
            if status.cover_open {
                b |= 0x04;
            }
            if status.paper_out {
                b |= 0x20;
            }
            if status.error {
                b |= 0x40;
            }
        }
        StatusKind::Paper => {
            if status.paper_near_end {
                b |= 0x0C;
            }
            if status.paper_out {
                b |= 0x60;
            }
        }
    }
    b
}

/// How to print QR codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum QrMode {
    /// The printer's own QR commands (GS ( k): a few dozen bytes.
    #[default]
    Native,
    /// A raster image (GS v 0) for printers without them.
    Raster,
}

/// Appends `text` in the printer's character set and returns how many
/// characters were replaced by [`SUBSTITUTE`]. Control characters become
/// spaces so that text never injects commands.
pub fn encode_text(text: &str, out: &mut Vec<u8>) -> usize {
    let mut n_substituted = 0;
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        if ch.is_ascii() {
            out.push(if ch.is_ascii_control() {
                b' '
            } else {
                ch as u8
            });
            continue;
        }
        if ch.is_control() {
            out.push(b' ');
            continue;
        }
        // GBK is the two-byte part of GB18030: what the printer's font covers.
        let (bytes, _, unmappable) = GBK.encode(ch.encode_utf8(&mut buf));
        if unmappable || bytes.len() != 2 {
            n_substituted += 1;
            let (sub, _, _) = GBK.encode(SUBSTITUTE.encode_utf8(&mut buf));
            out.extend_from_slice(&sub);
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    n_substituted
}

/// The QR code of `data` at error correction level M, or `None` when
/// `data` does not fit a QR code.
pub fn qr_modules(data: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Some((width, dark))
}

/// Appends GS v 0 for a 1-bit image `width`×`height` (row-major, true is black).
pub fn encode_raster(
    width: usize,
    height: usize,
    dark: impl Fn(usize, usize) -> bool,
    out: &mut Vec<u8>,
) {
    let width_bytes = width.div_ceil(8);
    out.extend_from_slice(&[GS, b'v', b'0', 0]);
    out.extend_from_slice(&(width_bytes as u16).to_le_bytes());
    out.extend_from_slice(&(height as u16).to_le_bytes());
    for y in 0..height {
        for xb in 0..width_bytes {
            let mut byte = 0u8;
            for bit in 0..8 {
                let x = xb * 8 + bit;
                if x < width && dark(x, y) {
                    byte |= 0x80 >> bit;
                }
            }
            out.push(byte);
        }
    }
}

fn align_byte(align: Align) -> u8 {
    match align {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    }
}

/// Appends the whole job: initialise, the blocks, feed and cut. Returns
/// the number of substituted characters.
pub fn encode_job(job: &PrintJob, qr: QrMode, out: &mut Vec<u8>) -> usize {
    let mut n_substituted = 0;
    out.extend_from_slice(&[ESC, b'@', FS, b'&']);
    for block in &job.blocks {
        match block {
            Block::Text {
                text,
                align,
                bold,
                size,
            } => {
                let (w, h) = size.factors();
                out.extend_from_slice(&[ESC, b'a', align_byte(*align)]);
                out.extend_from_slice(&[ESC, b'E', u8::from(*bold)]);
                out.extend_from_slice(&[GS, b'!', ((w - 1) << 4) | (h - 1)]);
                n_substituted += encode_text(text, out);
                out.push(LF);
                out.extend_from_slice(&[ESC, b'E', 0, GS, b'!', 0]);
            }
            Block::Qr {
                data,
                module,
                align,
            } => {
                out.extend_from_slice(&[ESC, b'a', align_byte(*align)]);
                let module = (*module).clamp(1, 16);
                match qr {
                    QrMode::Native => encode_qr_native(data, module, out),
                    QrMode::Raster => {
                        if let Some((width, dark)) = qr_modules(data) {
                            // A quiet zone of 2 modules each side.
                            let m = module as usize;
                            let side = (width + 4) * m;
                            encode_raster(
                                side,
                                side,
                                |x, y| {
                                    let (mx, my) = (x / m, y / m);
                                    (2..width + 2).contains(&mx)
                                        && (2..width + 2).contains(&my)
                                        && dark[(my - 2) * width + (mx - 2)]
                                },
                                out,
                            );
                        }
                    }
                }
                out.push(LF);
            }
            Block::Rule => {
                // ESC J n: print and feed n dots, a little air around the line.
                out.extend_from_slice(&[ESC, b'a', 0, ESC, b'J', 10]);
                encode_raster(PAPER_DOTS as usize, 2, |_, _| true, out);
                out.extend_from_slice(&[ESC, b'J', 14]);
            }
            Block::Feed(n) => out.extend_from_slice(&[ESC, b'd', *n]),
        }
    }
    // Feed the last line past the cutter, then a partial cut.
    out.extend_from_slice(&[ESC, b'a', 0, ESC, b'd', 3, GS, b'V', 66, 0]);
    n_substituted
}

fn encode_qr_native(data: &str, module: u8, out: &mut Vec<u8>) {
    // fn 165: model 2; fn 167: module size; fn 169: level M; fn 180: store; fn 181: print.
    out.extend_from_slice(&[GS, b'(', b'k', 4, 0, 49, 65, 50, 0]);
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 67, module]);
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 69, 49]);
    let len = (data.len() + 3) as u16;
    out.extend_from_slice(&[GS, b'(', b'k']);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[49, 80, 48]);
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 81, 48]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_is_two_byte_gb18030() {
        let mut out = Vec::new();
        assert_eq!(encode_text("登记A", &mut out), 0);
        assert_eq!(out, [0xB5, 0xC7, 0xBC, 0xC7, b'A']);
    }

    #[test]
    fn unprintable_characters_become_the_geta_mark() {
        let mut out = Vec::new();
        // U+20000 (CJK Extension B) and an emoji are four-byte GB18030.
        assert_eq!(encode_text("王\u{20000}😀", &mut out), 2);
        assert_eq!(out, [0xCD, 0xF5, 0xA1, 0xFE, 0xA1, 0xFE]);
    }

    #[test]
    fn control_characters_cannot_inject_commands() {
        let mut out = Vec::new();
        encode_text("a\u{1b}@\u{10}\u{4}b", &mut out);
        assert!(!out.contains(&ESC) && !out.contains(&DLE));
    }

    #[test]
    fn status_bytes_round_trip() {
        let want = PrinterStatus {
            offline: true,
            cover_open: true,
            paper_near_end: true,
            ..Default::default()
        };
        let mut got = PrinterStatus::default();
        for kind in [
            StatusKind::Printer,
            StatusKind::OfflineCause,
            StatusKind::Paper,
        ] {
            let b = status_reply(kind, &want);
            assert!(is_status_byte(b));
            apply_status(kind, b, &mut got);
        }
        assert_eq!(got, want);
    }

    #[test]
    fn job_ends_with_a_cut() {
        let mut out = Vec::new();
        encode_job(&PrintJob::default(), QrMode::Native, &mut out);
        assert!(out.starts_with(&[ESC, b'@']));
        assert!(out.ends_with(&[GS, b'V', 66, 0]));
    }
}
