//! Golden tests: every `test_data/{ok,err}/NNNN_name.hex` capture is decoded
//! and compared with the `.txt` next to it. Run with `UPDATE_EXPECT=1` to
//! rewrite the `.txt` files after a deliberate change, then review the diff.
//!
//! A `.hex` file holds hex byte pairs separated by white space; `#` starts a
//! comment. Every capture is decoded twice, in one push and one byte at a
//! time, and both must give the same result. All captures are SPECIMEN data.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use idcard_proto::Decoder;

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        for pair in line.split_whitespace() {
            let b = u8::from_str_radix(pair, 16).map_err(|e| format!("bad hex {pair:?}: {e}"))?;
            out.push(b);
        }
    }
    Ok(out)
}

/// Feeds `chunks` to a decoder and writes one line per outcome.
fn decode<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> String {
    let mut d = Decoder::new();
    let mut out = String::new();
    for chunk in chunks {
        d.push(chunk);
        while let Some(res) = d.next_frame() {
            match res {
                Ok(frame) => {
                    let hex: Vec<String> = frame.data.iter().map(|b| format!("{b:02x}")).collect();
                    let _ = writeln!(out, "frame {}: data [{}]", frame.status, hex.join(" "));
                }
                Err(e) => {
                    let _ = writeln!(out, "error {e}");
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "pending {} bytes, discarded {}",
        d.buffered(),
        d.discarded()
    );
    out
}

fn captures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let mut files = Vec::new();
    for dir in ["ok", "err"] {
        let entries = std::fs::read_dir(root.join(dir)).expect("test_data dir");
        files.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "hex")),
        );
    }
    files.sort();
    files
}

#[test]
fn golden_captures() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let files = captures();
    assert!(files.len() >= 10, "captures missing: {files:?}");
    let mut failures = Vec::new();
    for hex_path in files {
        let bytes = parse_hex(&std::fs::read_to_string(&hex_path).unwrap()).unwrap();
        let whole = decode(std::iter::once(&bytes[..]));
        let bytewise = decode(bytes.chunks(1));
        assert_eq!(
            whole,
            bytewise,
            "{}: one push and byte at a time differ",
            hex_path.display()
        );
        let is_err_dir = hex_path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "err");
        let clean = !whole.contains("error ") && whole.contains("pending 0 ");
        assert_eq!(
            !clean,
            is_err_dir,
            "{}: ok/ captures must decode cleanly, err/ ones must not",
            hex_path.display()
        );
        let txt_path = hex_path.with_extension("txt");
        if update {
            std::fs::write(&txt_path, &whole).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&txt_path).unwrap_or_default();
        if expected != whole {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{whole}",
                hex_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatch (UPDATE_EXPECT=1 to refresh):\n{}",
        failures.join("\n")
    );
}
