//! A deployment's routing rules: units, weighted keywords, localities.
//!
//! The format is documented in `data/routing.example.toml` (the built-in
//! rules, an example for one district) and `README.md`. [`Routing::parse`]
//! checks the file against a [`Taxonomy`] and turns names into indices.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{taxonomy::Taxonomy, ClassifyError};

/// The built-in routing file (the documented county example).
pub const EXAMPLE_ROUTING: &str = include_str!("../data/routing.example.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingFile {
    deployment: DeploymentFile,
    #[serde(default)]
    unit: Vec<UnitDef>,
    #[serde(default)]
    category: BTreeMap<String, CategoryRouteFile>,
    #[serde(default)]
    unit_rule: Vec<UnitRuleFile>,
    #[serde(default)]
    locality: Vec<LocalityDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentFile {
    name: String,
    region: String,
    fallback_unit: String,
}

/// A responsible unit (事权单位).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitDef {
    /// Short code.
    pub code: String,
    /// Display name.
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeywordGroup {
    w: f32,
    words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryRouteFile {
    unit: Option<String>,
    #[serde(default)]
    keywords: Vec<KeywordGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitRuleFile {
    unit: String,
    categories: Vec<String>,
    keywords: Vec<KeywordGroup>,
}

/// A locality (属地): a township or street office, found by name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalityDef {
    /// Display name.
    pub name: String,
    /// Words searched in the petition text and the address.
    #[serde(default)]
    pub words: Vec<String>,
    /// A 6-digit region code mapping to this locality.
    pub region: Option<String>,
}

/// One weighted keyword: all `parts` must occur ("A+B" in the file).
#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    /// The text as written in the file, for evidence.
    pub text: String,
    /// The words that must all occur.
    pub parts: Vec<String>,
    /// Its weight.
    pub weight: f32,
}

/// A unit rule after checking: unit and category indices.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRule {
    /// Index into [`Routing::units`].
    pub unit: usize,
    /// Indices into the taxonomy's categories.
    pub categories: Vec<usize>,
    /// Its keywords.
    pub keywords: Vec<Keyword>,
}

/// A checked routing configuration, bound to one taxonomy.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// The deployment's display name (locality when only the region matches).
    pub name: String,
    /// Its 6-digit region code.
    pub region: String,
    /// Index of the fallback unit.
    pub fallback_unit: usize,
    /// Every unit.
    pub units: Vec<UnitDef>,
    /// Per taxonomy category (same order): the default unit index.
    pub category_unit: Vec<usize>,
    /// Per taxonomy category (same order): its keywords.
    pub category_keywords: Vec<Vec<Keyword>>,
    /// Unit rules, in file order.
    pub unit_rules: Vec<UnitRule>,
    /// Localities, in file order.
    pub localities: Vec<LocalityDef>,
}

fn keywords(groups: Vec<KeywordGroup>, what: &str) -> Result<Vec<Keyword>, ClassifyError> {
    let mut out = Vec::new();
    for g in groups {
        if !(g.w.is_finite() && g.w > 0.0) {
            return Err(invalid(format!("weight {} in {what} is not positive", g.w)));
        }
        for text in g.words {
            let parts: Vec<String> = text
                .split('+')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect();
            if parts.is_empty() {
                return Err(invalid(format!("empty keyword in {what}")));
            }
            out.push(Keyword {
                text,
                parts,
                weight: g.w,
            });
        }
    }
    Ok(out)
}

fn invalid(detail: String) -> ClassifyError {
    ClassifyError::Invalid {
        what: "routing",
        detail,
    }
}

fn is_region(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

impl Routing {
    /// Parses and checks a routing file's text against `taxonomy`.
    pub fn parse(text: &str, taxonomy: &Taxonomy) -> Result<Self, ClassifyError> {
        let file: RoutingFile = toml::from_str(text).map_err(|source| ClassifyError::Parse {
            what: "routing",
            source,
        })?;
        let units = file.unit;
        for (i, u) in units.iter().enumerate() {
            if units[..i].iter().any(|o| o.code == u.code) {
                return Err(invalid(format!("unit {} appears twice", u.code)));
            }
        }
        let unit_idx = |code: &str| {
            units
                .iter()
                .position(|u| u.code == code)
                .ok_or_else(|| invalid(format!("unknown unit {code}")))
        };
        let cat_idx = |code: &str| {
            taxonomy
                .index(code)
                .ok_or_else(|| invalid(format!("unknown category {code}")))
        };
        if !is_region(&file.deployment.region) {
            return Err(invalid("the deployment region is not 6 digits".into()));
        }
        let fallback_unit = unit_idx(&file.deployment.fallback_unit)?;
        let n = taxonomy.categories().len();
        let mut category_unit = vec![fallback_unit; n];
        let mut category_keywords = vec![Vec::new(); n];
        for (code, route) in file.category {
            let i = cat_idx(&code)?;
            if let Some(u) = route.unit {
                category_unit[i] = unit_idx(&u)?;
            }
            category_keywords[i] = keywords(route.keywords, &code)?;
        }
        let mut unit_rules = Vec::new();
        for r in file.unit_rule {
            let unit = unit_idx(&r.unit)?;
            let categories = r
                .categories
                .iter()
                .map(|c| cat_idx(c))
                .collect::<Result<Vec<_>, _>>()?;
            unit_rules.push(UnitRule {
                unit,
                categories,
                keywords: keywords(r.keywords, &r.unit)?,
            });
        }
        for l in &file.locality {
            if l.region.as_deref().is_some_and(|r| !is_region(r)) {
                return Err(invalid(format!(
                    "locality {} has a bad region code",
                    l.name
                )));
            }
        }
        Ok(Routing {
            name: file.deployment.name,
            region: file.deployment.region,
            fallback_unit,
            units,
            category_unit,
            category_keywords,
            unit_rules,
            localities: file.locality,
        })
    }

    /// A unit index by code.
    pub fn unit_index(&self, code: &str) -> Option<usize> {
        self.units.iter().position(|u| u.code == code)
    }

    /// Every word of every keyword (for the segmenter's dictionary).
    pub fn all_words(&self) -> impl Iterator<Item = &str> {
        let cat = self.category_keywords.iter().flatten();
        let unit = self.unit_rules.iter().flat_map(|r| r.keywords.iter());
        cat.chain(unit)
            .flat_map(|k| k.parts.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_routing_is_valid() {
        let tax = Taxonomy::builtin();
        let r = Routing::parse(EXAMPLE_ROUTING, &tax).expect("example routing");
        assert_eq!(r.region, "130406");
        let law = tax.index("law").expect("law");
        assert_eq!(r.units[r.category_unit[law]].code, "zfw");
        assert!(
            r.category_keywords.iter().all(|k| !k.is_empty()),
            "every category has keywords"
        );
        let phrase = r.category_keywords[tax.index("labour").expect("labour")]
            .iter()
            .find(|k| k.text == "拖欠+工资")
            .expect("phrase");
        assert_eq!(phrase.parts, ["拖欠", "工资"]);
    }

    #[test]
    fn unknown_names_are_reported() {
        let tax = Taxonomy::builtin();
        let base = "[deployment]\nname = \"x\"\nregion = \"130406\"\nfallback_unit = \"a\"\n[[unit]]\ncode = \"a\"\nname = \"A\"\n";
        assert!(Routing::parse(base, &tax).is_ok());
        let bad_unit = format!("{base}[category.land]\nunit = \"b\"\n");
        let err = Routing::parse(&bad_unit, &tax).expect_err("unknown unit");
        assert_eq!(err.to_string(), "invalid routing: unknown unit b");
        let bad_cat = format!("{base}[category.moon]\nunit = \"a\"\n");
        assert!(Routing::parse(&bad_cat, &tax).is_err());
        let bad_w = format!("{base}[category.land]\nkeywords = [{{ w = -1, words = [\"x\"] }}]\n");
        assert!(Routing::parse(&bad_w, &tax).is_err());
        let bad_region = base.replace("130406", "13");
        assert!(Routing::parse(&bad_region, &tax).is_err());
    }
}
