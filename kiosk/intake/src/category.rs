//! The categories a petitioner can pick on the category screen.
//!
//! This is the spine's fixed list of tiles; the full, per-deployment taxonomy
//! with routing rules comes with the classification work.

/// One category tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// Stable code sent to the registry.
    pub code: &'static str,
    /// What the tile says.
    pub label: &'static str,
    /// A single character drawn large on the tile.
    pub glyph: &'static str,
}

/// The code of the "not sure" tile: a valid choice, classified later.
pub const UNSURE: &str = "unsure";

/// Every tile, in screen order.
pub const CATEGORIES: &[Category] = &[
    Category {
        code: "land",
        label: "征地拆迁",
        glyph: "地",
    },
    Category {
        code: "labour",
        label: "劳动工资",
        glyph: "薪",
    },
    Category {
        code: "social_security",
        label: "社保养老",
        glyph: "保",
    },
    Category {
        code: "housing",
        label: "住房物业",
        glyph: "房",
    },
    Category {
        code: "rural",
        label: "农村农业",
        glyph: "农",
    },
    Category {
        code: "law",
        label: "涉法涉诉",
        glyph: "法",
    },
    Category {
        code: "conduct",
        label: "干部作风",
        glyph: "风",
    },
    Category {
        code: "other",
        label: "其他问题",
        glyph: "他",
    },
    Category {
        code: UNSURE,
        label: "不确定",
        glyph: "?",
    },
];

/// Looks a category up by its code.
pub fn by_code(code: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_unsure_is_offered() {
        let mut codes: Vec<_> = CATEGORIES.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), CATEGORIES.len());
        assert_eq!(by_code(UNSURE).map(|c| c.label), Some("不确定"));
        assert!(by_code("nonsense").is_none());
    }
}
