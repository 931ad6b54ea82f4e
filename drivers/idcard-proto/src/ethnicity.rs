//! Ethnicity names by GB 3304 code, as listed in `/work/shared/IDCARD.md`.

/// `(code, name)` for every code in GB 3304 used on the card.
#[rustfmt::skip]
pub const ETHNICITIES: [(u8, &str); 58] = [
    (1, "汉"), (2, "蒙古"), (3, "回"), (4, "藏"), (5, "维吾尔"), (6, "苗"), (7, "彝"),
    (8, "壮"), (9, "布依"), (10, "朝鲜"), (11, "满"), (12, "侗"), (13, "瑶"), (14, "白"),
    (15, "土家"), (16, "哈尼"), (17, "哈萨克"), (18, "傣"), (19, "黎"), (20, "傈僳"),
    (21, "佤"), (22, "畲"), (23, "高山"), (24, "拉祜"), (25, "水"), (26, "东乡"),
    (27, "纳西"), (28, "景颇"), (29, "柯尔克孜"), (30, "土"), (31, "达斡尔"), (32, "仫佬"),
    (33, "羌"), (34, "布朗"), (35, "撒拉"), (36, "毛南"), (37, "仡佬"), (38, "锡伯"),
    (39, "阿昌"), (40, "普米"), (41, "塔吉克"), (42, "怒"), (43, "乌孜别克"),
    (44, "俄罗斯"), (45, "鄂温克"), (46, "德昂"), (47, "保安"), (48, "裕固"), (49, "京"),
    (50, "塔塔尔"), (51, "独龙"), (52, "鄂伦春"), (53, "赫哲"), (54, "门巴"), (55, "珞巴"),
    (56, "基诺"), (97, "其他"), (98, "外国血统中国籍人士"),
];

/// The name for a GB 3304 code.
pub fn ethnicity_name(code: u8) -> Option<&'static str> {
    ETHNICITIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
}

/// The GB 3304 code for a name from [`ETHNICITIES`].
pub fn ethnicity_code(name: &str) -> Option<u8> {
    ETHNICITIES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        assert_eq!(ethnicity_name(1), Some("汉"));
        assert_eq!(ethnicity_name(29), Some("柯尔克孜"));
        assert_eq!(ethnicity_name(56), Some("基诺"));
        assert_eq!(ethnicity_name(98), Some("外国血统中国籍人士"));
        assert_eq!(ethnicity_name(57), None);
        assert_eq!(ethnicity_name(0), None);
        for (code, name) in ETHNICITIES {
            assert_eq!(ethnicity_code(name), Some(code));
        }
    }
}
