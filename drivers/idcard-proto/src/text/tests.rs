//! Tests of the text block codec, on SPECIMEN data only.

use super::*;

fn specimen() -> CardText {
    CardText {
        doc_type: DocType::Resident,
        name: PersonName::new("测试样例"),
        sex: Sex::Female,
        ethnicity: Some("汉"),
        nationality: None,
        birth: Date::new(1949, 12, 31),
        address: Address::new("北京市西城区样例路1号样例小区2号楼3单元401室"),
        id_number: IdNumber::new("11010519491231002X"),
        authority: "北京市公安局西城分局".to_string(),
        valid_from: Date::new(2015, 3, 1),
        valid_to: Some(Validity::LongTerm),
    }
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn resident_layout_is_byte_exact() {
    let block = encode_text(&specimen());
    assert_eq!(block[0..8], utf16le("测试样例")[..]);
    assert_eq!(block[8..10], [0x20, 0x00]);
    assert_eq!(block[30..32], utf16le("2")[..]);
    assert_eq!(block[32..36], utf16le("01")[..]);
    assert_eq!(block[36..52], utf16le("19491231")[..]);
    assert_eq!(block[122..158], utf16le("11010519491231002X")[..]);
    assert_eq!(block[188..204], utf16le("20150301")[..]);
    assert_eq!(block[204..208], utf16le("长期")[..]);
    assert_eq!(block[208..210], [0x20, 0x00]);
    assert_eq!(block[248..250], [0x20, 0x00]);
}

#[test]
fn resident_round_trip() {
    let card = specimen();
    let decoded = decode_text(&encode_text(&card)).unwrap();
    assert_eq!(decoded, card);
    assert_eq!(decoded.name.expose(), "测试样例");
    assert_eq!(decoded.valid_to, Some(Validity::LongTerm));
    assert!(decoded.id_number_ok());
    assert!(!decoded.is_expired(Date::new(2100, 1, 1).unwrap()));
}

#[test]
fn validity_date_and_expiry() {
    let mut card = specimen();
    card.valid_to = Date::new(2035, 3, 1).map(Validity::Until);
    let decoded = decode_text(&encode_text(&card)).unwrap();
    assert_eq!(decoded.valid_to, card.valid_to);
    assert!(!decoded.is_expired(Date::new(2035, 3, 1).unwrap()));
    assert!(decoded.is_expired(Date::new(2035, 3, 2).unwrap()));
    card.valid_to = None;
    assert!(card.is_expired(Date::new(2000, 1, 1).unwrap()));
}

#[test]
fn hmt_permit_round_trip() {
    let mut card = specimen();
    card.doc_type = DocType::HmtPermit;
    card.ethnicity = None;
    // SPECIMEN: 810000 + 19491231 + 002, check computed.
    card.id_number = IdNumber::new("810000194912310028");
    card.valid_to = Date::new(2030, 1, 1).map(Validity::Until);
    let block = encode_text(&card);
    assert_eq!(block[248..250], utf16le("J")[..]);
    let decoded = decode_text(&block).unwrap();
    assert_eq!(decoded, card);
    assert!(decoded.id_number_ok());
}

#[test]
fn foreign_2017_round_trip() {
    let card = CardText {
        doc_type: DocType::ForeignPermanent2017,
        name: PersonName::new(format!("SPECIMEN, TEST{NAME_SEPARATOR}样例")),
        sex: Sex::Male,
        ethnicity: None,
        nationality: Some("CAN".to_string()),
        birth: Date::new(1980, 5, 6),
        address: Address::default(),
        id_number: IdNumber::new("CAN110080050601"),
        authority: "1500".to_string(),
        valid_from: Date::new(2017, 1, 1),
        valid_to: Date::new(2027, 1, 1).map(Validity::Until),
    };
    let block = encode_text(&card);
    assert_eq!(block[248..250], utf16le("I")[..]);
    assert_eq!(block[152..158], utf16le("CAN")[..]);
    assert_eq!(block[220..236], utf16le("19800506")[..]);
    let decoded = decode_text(&block).unwrap();
    assert_eq!(decoded, card);
    assert!(decoded.id_number_ok());
}

#[test]
fn foreign_2023_round_trip_with_split_english_name() {
    let english = "SPECIMEN-LONGFAMILYNAME, TESTGIVENNAME MIDDLE"; // 45 characters
    let card = CardText {
        doc_type: DocType::ForeignPermanent2023,
        name: PersonName::new(format!("{english}{NAME_SEPARATOR}样例")),
        sex: Sex::Female,
        ethnicity: None,
        nationality: Some("FRA".to_string()),
        birth: Date::new(1990, 2, 28),
        address: Address::default(),
        id_number: IdNumber::new("911250199002280028"),
        authority: String::new(),
        valid_from: Date::new(2023, 12, 1),
        valid_to: Date::new(2033, 12, 1).map(Validity::Until),
    };
    let block = encode_text(&card);
    assert_eq!(block[248..250], utf16le("Y")[..]);
    // Characters 36 to 45 of the English name sit at offset 220.
    assert_eq!(block[220..240], utf16le(&english[35..])[..]);
    assert_eq!(block[242..248], utf16le("FRA")[..]);
    let decoded = decode_text(&block).unwrap();
    assert_eq!(decoded, card);
    assert!(decoded.id_number_ok());
}

#[test]
fn english_name_only() {
    let card = CardText {
        doc_type: DocType::ForeignPermanent2023,
        name: PersonName::new("SPECIMEN, TEST"),
        sex: Sex::Unspecified,
        ethnicity: None,
        nationality: Some("FRA".to_string()),
        birth: None,
        address: Address::default(),
        id_number: IdNumber::new("911250199002280028"),
        authority: String::new(),
        valid_from: None,
        valid_to: None,
    };
    assert_eq!(decode_text(&encode_text(&card)).unwrap(), card);
}

#[test]
fn text_errors() {
    assert_eq!(
        decode_text(&[0x20; 255]),
        Err(TextError::BlockLength { len: 255 })
    );
    let good = encode_text(&specimen());

    let mut b = good;
    b[248..250].copy_from_slice(&utf16le("Q"));
    assert_eq!(
        decode_text(&b),
        Err(TextError::UnknownDocType {
            flag: u16::from(b'Q')
        })
    );

    let mut b = good;
    b[2..4].copy_from_slice(&0xD800u16.to_le_bytes());
    assert_eq!(decode_text(&b), Err(TextError::BadChar { offset: 2 }));

    let mut b = good;
    b[30..32].copy_from_slice(&utf16le("5"));
    assert_eq!(decode_text(&b), Err(TextError::BadSex));

    let mut b = good;
    b[32..36].copy_from_slice(&utf16le("57"));
    assert_eq!(decode_text(&b), Err(TextError::BadEthnicity));

    let mut b = good;
    b[36..52].copy_from_slice(&utf16le("19491331"));
    assert_eq!(decode_text(&b), Err(TextError::BadDate { field: "birth" }));

    let mut b = good;
    b[204..220].copy_from_slice(&utf16le("长久      "));
    assert_eq!(
        decode_text(&b),
        Err(TextError::BadDate { field: "valid to" })
    );
}

#[test]
fn debug_hides_personal_data() {
    let card = specimen();
    let dbg = format!("{card:?}");
    for secret in [
        "测试",
        "11010519491231",
        "1949",
        "北京市西城区",
        "公安局",
        "汉",
        "Female",
    ] {
        assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
    }
    assert!(dbg.contains("Resident"));
}

#[test]
fn sex_display() {
    let shown: Vec<String> = [Sex::Male, Sex::Female, Sex::Unknown, Sex::Unspecified]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(shown, ["男", "女", "未知", "未说明"]);
}

#[test]
fn appended_address() {
    let block = encode_appended_address("北京市海淀区样例路9号");
    assert_eq!(block.len(), 70);
    let addr = decode_appended_address(&block).unwrap().unwrap();
    assert_eq!(addr.expose(), "北京市海淀区样例路9号");
    assert_eq!(decode_appended_address(&[0x20, 0x00].repeat(35)), Ok(None));
    assert_eq!(
        decode_appended_address(&[0x20]),
        Err(TextError::AppendedLength { len: 1 })
    );
}
