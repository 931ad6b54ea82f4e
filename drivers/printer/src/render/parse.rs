//! The ESC/POS parser of the paper renderer and the printer simulator:
//! bytes in any fragmentation in, [`Op`]s out. Text runs are decoded as
//! GB18030; commands outside our subset are skipped by their known lengths,
//! unknown bytes one by one.

use encoding_rs::GB18030;

use crate::escpos::{DLE, EOT, ESC, FS, GS, LF};

/// Input held back for an incomplete command before it is dropped.
const MAX_PENDING: usize = 1 << 20;

/// One parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// ESC @.
    Init,
    /// ESC a n.
    Align(u8),
    /// ESC E n.
    Bold(bool),
    /// GS ! n.
    Size(u8),
    /// Printable text, decoded.
    Text(String),
    /// LF.
    LineFeed,
    /// ESC d n.
    Feed(u8),
    /// ESC J n: feed n dots.
    FeedDots(u8),
    /// GS V.
    Cut,
    /// GS ( k fn 167.
    QrModule(u8),
    /// GS ( k fn 180.
    QrStore(Vec<u8>),
    /// GS ( k fn 181.
    QrPrint,
    /// GS v 0.
    Raster {
        /// Bytes per row.
        width_bytes: u16,
        /// Rows.
        height: u16,
        /// Row-major bits, MSB first.
        data: Vec<u8>,
    },
    /// DLE EOT n.
    Status(u8),
    /// A command we parse but do not act on.
    Ignored,
}

/// The streaming parser.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
}

enum Step {
    Op(usize, Op),
    NeedMore,
}

impl Parser {
    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete command, if any.
    pub fn next_op(&mut self) -> Option<Op> {
        if self.buf.is_empty() {
            return None;
        }
        match step(&self.buf) {
            Step::Op(n, op) => {
                self.buf.drain(..n);
                Some(op)
            }
            Step::NeedMore if self.buf.len() > MAX_PENDING => {
                self.buf.clear();
                None
            }
            Step::NeedMore => None,
        }
    }
}

fn u16_at(b: &[u8], i: usize) -> usize {
    usize::from(b[i]) | usize::from(b[i + 1]) << 8
}

fn step(b: &[u8]) -> Step {
    let need = |n: usize, op: Op| {
        if b.len() >= n {
            Step::Op(n, op)
        } else {
            Step::NeedMore
        }
    };
    match b[0] {
        LF => Step::Op(1, Op::LineFeed),
        DLE => match b.get(1) {
            None => Step::NeedMore,
            Some(&EOT) => match b.get(2) {
                Some(&n) => Step::Op(3, Op::Status(n)),
                None => Step::NeedMore,
            },
            Some(_) => Step::Op(1, Op::Ignored),
        },
        ESC => match b.get(1) {
            None => Step::NeedMore,
            Some(b'@') => Step::Op(2, Op::Init),
            Some(b'a') => need(3, Op::Align(*b.get(2).unwrap_or(&0))),
            Some(b'E') => need(3, Op::Bold(b.get(2).is_some_and(|n| n & 1 == 1))),
            Some(b'd') => need(3, Op::Feed(*b.get(2).unwrap_or(&0))),
            Some(b'J') => need(3, Op::FeedDots(*b.get(2).unwrap_or(&0))),
            Some(b'2') => Step::Op(2, Op::Ignored),
            Some(b'3' | b'!' | b'-' | b'M' | b't') => need(3, Op::Ignored),
            Some(_) => Step::Op(2, Op::Ignored),
        },
        FS => match b.get(1) {
            None => Step::NeedMore,
            Some(b'&' | b'.') => Step::Op(2, Op::Ignored),
            Some(b'!' | b'-') => need(3, Op::Ignored),
            Some(_) => Step::Op(2, Op::Ignored),
        },
        GS => gs(b),
        0x00..=0x1F | 0x7F => Step::Op(1, Op::Ignored),
        _ => {
            let end = b.iter().position(|&c| c < 0x20).unwrap_or(b.len());
            if end == b.len() {
                // Wait for the end of the run so a character is never split.
                return Step::NeedMore;
            }
            let (text, _) = GB18030.decode_without_bom_handling(&b[..end]);
            Step::Op(end, Op::Text(text.into_owned()))
        }
    }
}

fn gs(b: &[u8]) -> Step {
    let Some(&cmd) = b.get(1) else {
        return Step::NeedMore;
    };
    match cmd {
        b'!' => match b.get(2) {
            Some(&n) => Step::Op(3, Op::Size(n)),
            None => Step::NeedMore,
        },
        b'V' => match b.get(2) {
            None => Step::NeedMore,
            // Function B (65, 66, 97, 98) takes a feed count.
            Some(&m) if m >= 65 => {
                if b.len() >= 4 {
                    Step::Op(4, Op::Cut)
                } else {
                    Step::NeedMore
                }
            }
            Some(_) => Step::Op(3, Op::Cut),
        },
        b'(' => {
            if b.len() < 5 {
                return Step::NeedMore;
            }
            let len = u16_at(b, 3);
            let total = 5 + len;
            if b.len() < total {
                return Step::NeedMore;
            }
            let params = &b[5..total];
            let op = match (b[2], params) {
                (b'k', [49, 67, n]) => Op::QrModule(*n),
                (b'k', [49, 80, 48, data @ ..]) => Op::QrStore(data.to_vec()),
                (b'k', [49, 81, 48]) => Op::QrPrint,
                _ => Op::Ignored,
            };
            Step::Op(total, op)
        }
        b'v' => {
            if b.len() < 8 {
                return Step::NeedMore;
            }
            let width_bytes = u16_at(b, 4);
            let height = u16_at(b, 6);
            let total = 8 + width_bytes * height;
            if b.len() < total {
                return Step::NeedMore;
            }
            Step::Op(
                total,
                Op::Raster {
                    width_bytes: width_bytes as u16,
                    height: height as u16,
                    data: b[8..total].to_vec(),
                },
            )
        }
        b'B' | b'H' | b'f' | b'h' | b'w' | b'a' | b'r' | b'I' => {
            if b.len() >= 3 {
                Step::Op(3, Op::Ignored)
            } else {
                Step::NeedMore
            }
        }
        _ => Step::Op(2, Op::Ignored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escpos::{encode_job, QrMode};
    use crate::{Align, Block, PrintJob, Size};

    fn ops(bytes: &[u8], chunk: usize) -> Vec<Op> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for c in bytes.chunks(chunk) {
            p.push(c);
            while let Some(op) = p.next_op() {
                out.push(op);
            }
        }
        out
    }

    #[test]
    fn a_job_parses_the_same_in_any_fragmentation() {
        let job = PrintJob {
            blocks: vec![
                Block::Text {
                    text: "信访登记回执 A1".into(),
                    align: Align::Center,
                    bold: true,
                    size: Size::Double,
                },
                Block::Qr {
                    data: "Q7K2M9".into(),
                    module: 6,
                    align: Align::Center,
                },
                Block::Rule,
            ],
        };
        let mut bytes = Vec::new();
        encode_job(&job, QrMode::Native, &mut bytes);
        let whole = ops(&bytes, bytes.len());
        assert_eq!(ops(&bytes, 1), whole);
        assert_eq!(ops(&bytes, 7), whole);
        assert!(whole.contains(&Op::Text("信访登记回执 A1".into())));
        assert!(whole.contains(&Op::QrStore(b"Q7K2M9".to_vec())));
        assert!(whole.contains(&Op::Size(0x11)));
        assert_eq!(whole.last(), Some(&Op::Cut));
    }

    #[test]
    fn status_query_inside_raster_data_is_not_a_query() {
        let mut bytes = vec![GS, b'v', b'0', 0, 3, 0, 1, 0, DLE, EOT, 1];
        bytes.extend_from_slice(&[DLE, EOT, 4]);
        let got = ops(&bytes, 2);
        assert!(matches!(got[0], Op::Raster { .. }));
        assert_eq!(got[1], Op::Status(4));
        assert_eq!(got.len(), 2);
    }
}
