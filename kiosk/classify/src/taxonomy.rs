//! The category taxonomy: codes, display names and the kiosk tile of each.
//!
//! The file format is documented in `data/taxonomy.toml`, which is also the
//! built-in taxonomy. Loading checks that every kiosk tile (except "not sure")
//! is covered, so the tile codes the UI and the registry use stay valid.

use serde::Deserialize;

use crate::ClassifyError;

/// The built-in taxonomy file.
pub const BUILTIN_TAXONOMY: &str = include_str!("../data/taxonomy.toml");

/// One category of petition matter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDef {
    /// Stable code sent to the registry.
    pub code: String,
    /// Display name.
    pub label: String,
    /// Code of the kiosk tile covering it.
    pub tile: String,
    /// True for 涉法涉诉 (matters belonging in a legal procedure).
    #[serde(default)]
    pub legal: bool,
    /// What belongs here, for the people editing the files.
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    category: Vec<CategoryDef>,
}

/// All categories, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taxonomy {
    categories: Vec<CategoryDef>,
}

impl Taxonomy {
    /// Parses and checks a taxonomy file's text.
    pub fn parse(text: &str) -> Result<Self, ClassifyError> {
        let file: TaxonomyFile = toml::from_str(text).map_err(|source| ClassifyError::Parse {
            what: "taxonomy",
            source,
        })?;
        let tax = Taxonomy {
            categories: file.category,
        };
        tax.check()?;
        Ok(tax)
    }

    /// The built-in taxonomy.
    pub fn builtin() -> Self {
        // The built-in file is checked by a unit test; an error here is a build defect.
        Self::parse(BUILTIN_TAXONOMY).unwrap_or_else(|_| Taxonomy {
            categories: Vec::new(),
        })
    }

    fn check(&self) -> Result<(), ClassifyError> {
        let invalid = |detail: String| ClassifyError::Invalid {
            what: "taxonomy",
            detail,
        };
        for (i, c) in self.categories.iter().enumerate() {
            if c.code.is_empty() || !c.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(invalid(format!(
                    "category code {:?} is not lower-case ascii",
                    c.code
                )));
            }
            if self.categories[..i].iter().any(|o| o.code == c.code) {
                return Err(invalid(format!("category {} appears twice", c.code)));
            }
            if intake::category::by_code(&c.tile).is_none() || c.tile == intake::UNSURE {
                return Err(invalid(format!(
                    "category {} names an unknown tile {}",
                    c.code, c.tile
                )));
            }
        }
        for tile in intake::CATEGORIES
            .iter()
            .filter(|t| t.code != intake::UNSURE)
        {
            if self.get(tile.code).is_none() {
                return Err(invalid(format!(
                    "no category has the tile code {}",
                    tile.code
                )));
            }
        }
        Ok(())
    }

    /// Every category, in file order.
    pub fn categories(&self) -> &[CategoryDef] {
        &self.categories
    }

    /// A category by code.
    pub fn get(&self, code: &str) -> Option<&CategoryDef> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// Index of a category by code.
    pub fn index(&self, code: &str) -> Option<usize> {
        self.categories.iter().position(|c| c.code == code)
    }

    /// The categories a tile covers (empty for "not sure" and unknown tiles).
    pub fn covered_by_tile(&self, tile: &str) -> Vec<usize> {
        if tile == intake::UNSURE {
            return Vec::new();
        }
        (0..self.categories.len())
            .filter(|&i| self.categories[i].tile == tile)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_covers_every_tile() {
        let tax = Taxonomy::parse(BUILTIN_TAXONOMY).expect("builtin taxonomy");
        assert!(tax.categories().len() >= 14);
        for tile in intake::CATEGORIES {
            let covered = tax.covered_by_tile(tile.code);
            assert_eq!(
                covered.is_empty(),
                tile.code == intake::UNSURE,
                "tile {}",
                tile.code
            );
        }
        assert!(tax.get("law").is_some_and(|c| c.legal));
        assert_eq!(tax.covered_by_tile("other").len(), 7);
    }

    #[test]
    fn rejects_missing_tile_and_duplicates() {
        let one = "[[category]]\ncode = \"land\"\nlabel = \"x\"\ntile = \"land\"\n";
        assert!(matches!(
            Taxonomy::parse(one),
            Err(ClassifyError::Invalid { .. })
        ));
        let dup = format!("{one}{one}");
        assert!(matches!(
            Taxonomy::parse(&dup),
            Err(ClassifyError::Invalid { .. })
        ));
        assert!(matches!(
            Taxonomy::parse("nonsense = ["),
            Err(ClassifyError::Parse { .. })
        ));
    }
}
