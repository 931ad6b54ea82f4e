//! `kiosk classify …`: the classifier's technician subcommands.
//!
//! - `kiosk classify eval`: runs the evaluation set and prints accuracy, the
//!   confusion table, the misses and the repeat check's verdicts.
//! - `kiosk classify try TEXT`: prints the suggestions for one text (for a
//!   county checking its routing file).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use kiosk_classify::eval::{evaluate, EvalSet};
use kiosk_classify::{Classifier, ClassifyInput};

/// The rule files; both or neither (then the built-in example).
#[derive(Args, Debug)]
pub struct RuleFiles {
    /// Taxonomy file (default: the built-in one).
    #[arg(long, requires = "routing")]
    taxonomy: Option<PathBuf>,
    /// Routing file (default: the built-in county example).
    #[arg(long, requires = "taxonomy")]
    routing: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum ClassifyCmd {
    /// Run the evaluation set: accuracy, confusion table, repeat pairs.
    Eval {
        #[command(flatten)]
        rules: RuleFiles,
        /// Evaluation file (default: the built-in set).
        #[arg(long)]
        cases: Option<PathBuf>,
    },
    /// Print the suggestions for one text.
    Try {
        #[command(flatten)]
        rules: RuleFiles,
        /// The text (as recognised from the pages).
        text: String,
        /// The tile the petitioner chose.
        #[arg(long)]
        tile: Option<String>,
        /// The 6-digit region code of the ID number.
        #[arg(long)]
        region: Option<String>,
    },
}

fn classifier(rules: &RuleFiles) -> anyhow::Result<Classifier> {
    let t = Instant::now();
    let clf = match (&rules.taxonomy, &rules.routing) {
        (Some(t), Some(r)) => Classifier::from_files(t, r).context("cannot load the rule files")?,
        (None, None) => Classifier::builtin(),
        _ => bail!("give both --taxonomy and --routing, or neither"),
    };
    println!(
        "classifier ready in {} ms ({clf:?})",
        t.elapsed().as_millis()
    );
    Ok(clf)
}

/// Runs one `kiosk classify` subcommand.
pub fn run(cmd: ClassifyCmd) -> anyhow::Result<()> {
    match cmd {
        ClassifyCmd::Eval { rules, cases } => {
            let clf = classifier(&rules)?;
            let set = match cases {
                Some(p) => EvalSet::load(&p)?,
                None => EvalSet::builtin()?,
            };
            let t = Instant::now();
            let report = evaluate(&clf, &set, |_| true);
            print!("{}", report.render());
            println!("evaluated in {} ms", t.elapsed().as_millis());
            let tuned = evaluate(&clf, &set, |c| !c.holdout);
            let held = evaluate(&clf, &set, |c| c.holdout);
            for (name, r) in [
                ("cases the rules were tuned on", tuned),
                ("held-out cases", held),
            ] {
                println!(
                    "{name}: {} cases, category {:.1}%, unit {:.1}%; {} confident, {} of them right",
                    r.cases,
                    100.0 * r.category_accuracy(),
                    100.0 * r.unit_accuracy(),
                    r.confident,
                    r.confident_ok
                );
            }
        }
        ClassifyCmd::Try {
            rules,
            text,
            tile,
            region,
        } => {
            let clf = classifier(&rules)?;
            let texts = [text.as_str()];
            let input = ClassifyInput {
                texts: &texts,
                tile: tile.as_deref(),
                id_region: region.as_deref(),
                ..Default::default()
            };
            for (i, s) in clf.classify(&input).iter().enumerate() {
                println!(
                    "{}. {} {} → {} [{:?}, score {:.2}] {}",
                    i + 1,
                    s.category,
                    s.category_label,
                    s.unit,
                    s.decision,
                    s.score,
                    s.review_line()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_and_try_run_on_the_builtin_rules() {
        let none = || RuleFiles {
            taxonomy: None,
            routing: None,
        };
        assert!(run(ClassifyCmd::Eval {
            rules: none(),
            cases: None
        })
        .is_ok());
        let one_text = ClassifyCmd::Try {
            rules: none(),
            text: "包工头拖欠工资".into(),
            tile: None,
            region: Some("130406".into()),
        };
        assert!(run(one_text).is_ok());
        let missing = ClassifyCmd::Eval {
            rules: none(),
            cases: Some("/nonexistent/cases.toml".into()),
        };
        assert!(run(missing).is_err());
        let half = RuleFiles {
            taxonomy: Some("/x".into()),
            routing: None,
        };
        assert!(run(ClassifyCmd::Eval {
            rules: half,
            cases: None
        })
        .is_err());
    }
}
