//! The PP-OCR model files: pinned by `ocr-models/manifest.toml`, checked by
//! size and sha256 when loaded, then run with tract.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::OcrError;

/// The manifest, built in: the engine accepts exactly the pinned files.
const MANIFEST: &str = include_str!("../../../../ocr-models/manifest.toml");

/// The three models of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Det,
    Rec,
    Cls,
}

impl Role {
    fn manifest_name(self) -> &'static str {
        match self {
            Role::Det => "ppocr-det",
            Role::Rec => "ppocr-rec",
            Role::Cls => "ppocr-cls",
        }
    }
}

/// A pinned model file: its file name, size and sha256 (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pin {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The pin of `role` from the built-in manifest.
pub(crate) fn pin(role: Role) -> Result<Pin, OcrError> {
    let bad = |reason: &str| OcrError::ModelManifest(reason.to_owned());
    let manifest: toml::Value = MANIFEST.parse().map_err(|_| bad("not valid toml"))?;
    let models = manifest
        .get("model")
        .and_then(|m| m.as_array())
        .ok_or_else(|| bad("no [[model]] tables"))?;
    let entry = models
        .iter()
        .find(|m| m.get("name").and_then(|n| n.as_str()) == Some(role.manifest_name()))
        .ok_or_else(|| bad(role.manifest_name()))?;
    let field = |key: &str| entry.get(key).ok_or_else(|| bad(key));
    let path = field("path")?.as_str().ok_or_else(|| bad("path"))?;
    let file = Path::new(path)
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| bad("path"))?
        .to_owned();
    let bytes = field("bytes")?.as_integer().ok_or_else(|| bad("bytes"))?;
    let sha256 = field("sha256")?.as_str().ok_or_else(|| bad("sha256"))?;
    Ok(Pin {
        file,
        bytes: u64::try_from(bytes).map_err(|_| bad("bytes"))?,
        sha256: sha256.to_ascii_lowercase(),
    })
}

/// Reads `dir/<pinned file>` and checks its size and sha256.
///
/// The size is checked before reading, so a huge file is never read in.
pub(crate) fn read_verified(dir: &Path, role: Role) -> Result<Vec<u8>, OcrError> {
    let pin = pin(role)?;
    let path = dir.join(&pin.file);
    let io_err = |source| OcrError::ModelFile {
        file: pin.file.clone(),
        source,
    };
    let len = std::fs::metadata(&path).map_err(io_err)?.len();
    if len != pin.bytes {
        return Err(OcrError::ModelMismatch {
            file: pin.file,
            what: "size",
        });
    }
    let bytes = std::fs::read(&path).map_err(io_err)?;
    let digest = hex::encode(Sha256::digest(&bytes));
    if bytes.len() as u64 != pin.bytes || digest != pin.sha256 {
        return Err(OcrError::ModelMismatch {
            file: pin.file,
            what: "sha256",
        });
    }
    Ok(bytes)
}

pub(crate) type Plan = Arc<TypedRunnableModel>;

/// A verified model, parsed once, with an optimised plan per input shape.
pub(crate) struct Model {
    role: Role,
    file: String,
    graph: InferenceModel,
    plans: HashMap<(usize, usize), Plan>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("role", &self.role)
            .field("shapes", &self.plans.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Model {
    pub fn load(dir: &Path, role: Role) -> Result<Model, OcrError> {
        let bytes = read_verified(dir, role)?;
        let file = pin(role)?.file;
        // The v6 models' stored shape information does not unify with fixed
        // input shapes; tract infers the shapes itself.
        let graph = tract_onnx::onnx()
            .with_ignore_value_info(true)
            .model_for_read(&mut &bytes[..])
            .map_err(|e| load_error(&file, e))?;
        Ok(Model {
            role,
            file,
            graph,
            plans: HashMap::new(),
        })
    }

    /// A metadata entry of the ONNX file (`onnx.metadata_props.<key>`).
    pub fn metadata(&self, key: &str) -> Option<String> {
        let tensor = self
            .graph
            .properties
            .get(&format!("onnx.metadata_props.{key}"))?;
        let view = tensor.to_plain_array_view::<String>().ok()?;
        view.iter().next().cloned()
    }

    /// Runs the model on one image tensor of 1 x 3 x `h` x `w`, optimising
    /// the graph for that shape on first use.
    pub fn run(&mut self, input: Tensor, h: usize, w: usize) -> Result<Tensor, OcrError> {
        if !self.plans.contains_key(&(h, w)) {
            let plan = self
                .graph
                .clone()
                .with_input_fact(0, f32::fact([1, 3, h, w]).into())
                .and_then(|m| m.into_optimized())
                .and_then(|m| m.into_runnable())
                .map_err(|e| load_error(&self.file, e))?;
            log::debug!("pp-ocr {:?}: plan for {h}x{w}", self.role);
            self.plans.insert((h, w), plan);
        }
        let plan = &self.plans[&(h, w)];
        let mut out = plan
            .run(tvec!(input.into()))
            .map_err(|e| OcrError::Inference {
                stage: self.file.clone(),
                reason: e.to_string(),
            })?;
        if out.is_empty() {
            return Err(OcrError::Inference {
                stage: self.file.clone(),
                reason: "no output".to_owned(),
            });
        }
        Ok(out.remove(0).into_tensor())
    }
}

/// The values of a float tensor, in order.
pub(crate) fn floats(t: &Tensor, stage: &str) -> Result<Vec<f32>, OcrError> {
    let view = t
        .to_plain_array_view::<f32>()
        .map_err(|e| OcrError::Inference {
            stage: stage.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(view.iter().copied().collect())
}

fn load_error(file: &str, e: TractError) -> OcrError {
    OcrError::ModelLoad {
        file: file.to_owned(),
        reason: format!("{e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_pins_every_model() {
        for role in [Role::Det, Role::Rec, Role::Cls] {
            let pin = pin(role).unwrap();
            assert!(pin.file.ends_with(".onnx"));
            assert_eq!(pin.sha256.len(), 64);
            assert!(pin.bytes > 100_000);
        }
    }
}
