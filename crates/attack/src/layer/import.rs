//! Reading Navigator layer files: one layer object, or an array of layers (Navigator's
//! "download all layers"). Shape problems are reported in the words of the layer format.

use serde_json::Value;

use super::Layer;

/// Why a text could not be read as Navigator layers.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not a layer (or array of layers); `reason` says what is missing.
    #[error("{}not an ATT&CK Navigator layer: {reason}", at(.layer))]
    NotALayer {
        layer: Option<usize>,
        reason: String,
    },
    /// An entry of `techniques` is not an object with a `techniqueID` string.
    #[error("{}techniques[{position}]: {reason}", at(.layer))]
    BadTechnique {
        layer: Option<usize>,
        position: usize,
        reason: String,
    },
    /// A technique's `score` is not a number (e.g. `"high"`).
    #[error("{}technique {technique}: \"score\" must be a number, found {found}", at(.layer))]
    ScoreNotNumber {
        layer: Option<usize>,
        technique: String,
        found: String,
    },
    /// Another field has the wrong type or value; the message comes from the decoder.
    #[error("{}malformed layer: {message}", at(.layer))]
    Malformed {
        layer: Option<usize>,
        message: String,
    },
}

/// "layer 2 of the array: " for arrays, nothing for a single layer.
fn at(layer: &Option<usize>) -> String {
    match layer {
        Some(i) => format!("layer {} of the array: ", i + 1),
        None => String::new(),
    }
}

/// Reads one layer object or an array of layers.
///
/// ```
/// let layers = ttpmap_attack::parse_layers(
///     r#"{"name": "x", "domain": "enterprise-attack", "techniques": [{"techniqueID": "T1059", "score": 50}]}"#,
/// ).unwrap();
/// assert_eq!(layers[0].techniques[0].score, Some(50.0));
/// ```
pub fn parse_layers(json: &str) -> Result<Vec<Layer>, LayerError> {
    let value: Value = serde_json::from_str(json).map_err(LayerError::NotJson)?;
    match value {
        Value::Array(items) if items.is_empty() => Err(LayerError::NotALayer {
            layer: None,
            reason: "an empty array holds no layers".into(),
        }),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| parse_one(v, Some(i)))
            .collect(),
        Value::Object(_) => Ok(vec![parse_one(value, None)?]),
        other => Err(LayerError::NotALayer {
            layer: None,
            reason: format!(
                "expected a layer object or an array of layers, found {}",
                kind(&other)
            ),
        }),
    }
}

fn parse_one(value: Value, layer: Option<usize>) -> Result<Layer, LayerError> {
    check_shape(&value, layer)?;
    serde_json::from_value(value).map_err(|e| LayerError::Malformed {
        layer,
        message: e.to_string(),
    })
}

/// Checks what serde's messages would describe poorly: that this is a layer at all, and
/// which technique has a bad entry or score.
fn check_shape(value: &Value, layer: Option<usize>) -> Result<(), LayerError> {
    let not_a_layer = |reason: String| LayerError::NotALayer { layer, reason };
    let Value::Object(obj) = value else {
        return Err(not_a_layer(format!(
            "expected a JSON object, found {}",
            kind(value)
        )));
    };
    let techniques = match obj.get("techniques") {
        Some(Value::Array(t)) => t,
        Some(other) => {
            return Err(not_a_layer(format!(
                "\"techniques\" must be an array, found {}",
                kind(other)
            )))
        }
        None => return Err(not_a_layer(
            "missing \"techniques\" (a layer has \"name\", \"domain\" and a \"techniques\" array)"
                .into(),
        )),
    };
    for key in ["name", "domain"] {
        match obj.get(key) {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(not_a_layer(format!(
                    "\"{key}\" must be a string, found {}",
                    kind(other)
                )))
            }
            None => return Err(not_a_layer(format!("missing \"{key}\""))),
        }
    }
    for (position, t) in techniques.iter().enumerate() {
        let bad = |reason: &str| LayerError::BadTechnique {
            layer,
            position,
            reason: reason.into(),
        };
        let Value::Object(t) = t else {
            return Err(bad("expected a technique object"));
        };
        let Some(Value::String(id)) = t.get("techniqueID") else {
            return Err(bad("missing \"techniqueID\" string"));
        };
        match t.get("score") {
            None | Some(Value::Null) | Some(Value::Number(_)) => {}
            Some(other) => {
                return Err(LayerError::ScoreNotNumber {
                    layer,
                    technique: id.clone(),
                    found: other.to_string(),
                })
            }
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
