//! Fuzz target: the frame decoder, fed the input in the fragmentation the
//! input itself chooses (its first byte), in both directions (replies and
//! requests). It must never panic, must always make progress, and a good
//! frame appended after any input must still decode.
#![no_main]

use idcard_proto::{encode_reply, Decoder, Status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split % 64) + 1;
    let mut replies = Decoder::new();
    let mut requests = Decoder::new();
    for piece in rest.chunks(chunk) {
        replies.push(piece);
        requests.push(piece);
        while replies.next_frame().is_some() {}
        while requests.next_request().is_some() {}
        let _ = replies.bytes_needed();
    }
    assert!(replies.buffered() <= rest.len());
    // The reader loop's recovery: after a reset, a good frame always decodes.
    replies.reset();
    let mut good = Vec::new();
    encode_reply(Status::Ok, &[1, 2, 3], &mut good);
    replies.push(&good);
    match replies.next_frame() {
        Some(Ok(frame)) => assert_eq!(frame.data, [1, 2, 3]),
        other => panic!("good frame after reset not decoded: {other:?}"),
    }
});
