//! Sans-IO codec of the resident ID card reader (SAM) serial protocol.
//!
//! This crate never opens ports, sleeps or reads the clock. It turns
//! [`Command`]s into request bytes ([`encode_command`]), turns received bytes
//! into [`ReplyFrame`]s ([`Decoder`]), splits read replies
//! ([`split_read_reply`]) and decodes the 256-byte text block of every known
//! card type ([`decode_text`]) into [`CardText`], whose personal fields are
//! masked newtypes from `kiosk-privacy`.
//!
//! Protocol facts come from `/work/shared/IDCARD.md`; the byte constants
//! live in [`wire`], the text block positions in [`layout`].
//!
//! A typical exchange:
//!
//! ```
//! use idcard_proto::{encode_command, encode_reply, Command, Decoder, Status};
//!
//! let mut request = Vec::new();
//! encode_command(Command::FindCard, &mut request);
//! assert_eq!(request, [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22]);
//!
//! let mut decoder = Decoder::new();
//! decoder.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x08, 0x00]);
//! assert!(decoder.next_frame().is_none());
//! decoder.push(&[0x00, 0x9F, 0x00, 0x00, 0x00, 0x00, 0x97]);
//! let frame = decoder.next_frame().unwrap().unwrap();
//! assert_eq!(frame.status, Status::CardFound);
//! ```

mod command;
mod date;
mod decoder;
mod ethnicity;
mod extras;
mod id_number;
pub mod layout;
mod read_reply;
mod status;
mod text;
pub mod wire;

pub use command::{encode_command, encode_reply, BaudRate, Command};
pub use date::{Date, Validity, LONG_TERM};
pub use decoder::{Decoder, FrameError, ReplyFrame, RequestFrame};
pub use extras::{decode_text_extras, encode_text_extras, TextExtras};
pub use ethnicity::{ethnicity_code, ethnicity_name, ETHNICITIES};
pub use id_number::{birth_date_of, check_char, check_id_number, IdNumberError};
pub use read_reply::{encode_read_reply, split_read_reply, ReadReply};
pub use status::Status;
pub use text::{
    decode_appended_address, decode_text, encode_appended_address, encode_text, CardText, DocType,
    Sex, TextError, NAME_SEPARATOR,
};

/// Re-exported so that users of [`CardText`] need not depend on
/// `kiosk-privacy` themselves.
pub use kiosk_privacy::{Address, IdNumber, PersonName};
