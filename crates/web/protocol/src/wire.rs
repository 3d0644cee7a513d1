//! How a message crosses `postMessage`: its JSON text, and the bytes it carries (a
//! bundle's encoded rows, a vectors file) beside the text rather than escaped or base64'd
//! inside it.
//!
//! In the browser a message without bytes is posted as the JSON string itself (what
//! public/worker-boot.js posts when the worker cannot start); one with bytes as the array
//! `[json, Uint8Array]`, its buffer transferred rather than copied.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

/// A message in transit.
#[derive(Debug, Clone, PartialEq)]
pub struct Wire {
    pub json: String,
    pub bytes: Option<Vec<u8>>,
}

/// A message that is not one of ours (or not of the version this build speaks).
#[derive(Debug, Clone, PartialEq)]
pub struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a ttpmap message: {}", self.0)
    }
}

impl Wire {
    /// `msg` as JSON, with `bytes` beside it.
    pub fn new(msg: &impl Serialize, bytes: Option<Vec<u8>>) -> Wire {
        // Plain strings, numbers and maps with string keys: serialising cannot fail.
        Wire { json: serde_json::to_string(msg).unwrap_or_default(), bytes }
    }

    /// A message of JSON text only.
    pub fn text(json: &str) -> Wire {
        Wire { json: json.to_string(), bytes: None }
    }

    /// The message, and the bytes that came with it.
    pub fn open<T: DeserializeOwned>(self) -> Result<(T, Option<Vec<u8>>), WireError> {
        let msg = serde_json::from_str(&self.json).map_err(|e| WireError(e.to_string()))?;
        Ok((msg, self.bytes))
    }

    /// What to hand `postMessage`: the value, and the buffers to transfer.
    pub fn to_js(&self) -> (JsValue, js_sys::Array) {
        let json = JsValue::from_str(&self.json);
        match &self.bytes {
            None => (json, js_sys::Array::new()),
            Some(bytes) => {
                let array = js_sys::Uint8Array::from(bytes.as_slice());
                let transfer = js_sys::Array::of1(&array.buffer());
                (js_sys::Array::of2(&json, &array).into(), transfer)
            }
        }
    }

    /// The message `postMessage` delivered (`MessageEvent.data`), if it is one of ours.
    pub fn from_js(data: &JsValue) -> Option<Wire> {
        if let Some(json) = data.as_string() {
            return Some(Wire { json, bytes: None });
        }
        let parts: &js_sys::Array = data.dyn_ref()?;
        let json = parts.get(0).as_string()?;
        let bytes: js_sys::Uint8Array = parts.get(1).dyn_into().ok()?;
        Some(Wire { json, bytes: Some(bytes.to_vec()) })
    }
}
