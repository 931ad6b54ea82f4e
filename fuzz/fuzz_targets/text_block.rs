//! Fuzz target: the text block parser and the read reply splitter. Any
//! input: the read reply split with and without a fingerprint, the text
//! block (the first 256 bytes) decoded with its extras, the appended
//! address. Nothing may panic; a block that decodes must re-encode to a
//! block that decodes to the same record.
#![no_main]

use idcard_proto::{
    decode_appended_address, decode_text, decode_text_extras, encode_text, split_read_reply,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for fp in [false, true] {
        if let Ok(parts) = split_read_reply(data, fp) {
            let _ = decode_text(&parts.text);
        }
    }
    let _ = decode_appended_address(data);
    let block = &data[..data.len().min(256)];
    let _ = decode_text_extras(block);
    if let Ok(card) = decode_text(block) {
        let again = decode_text(&encode_text(&card));
        // Names longer than a field are cut on encode; compare what survives.
        if let Ok(again) = again {
            assert_eq!(again.doc_type, card.doc_type);
            assert_eq!(again.sex, card.sex);
            assert_eq!(again.birth, card.birth);
            assert_eq!(again.valid_to, card.valid_to);
        }
    }
});
