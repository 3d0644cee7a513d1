//! Fetching the site's own static files. URLs are always relative, so the app works from
//! any static host and any sub-path.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

/// Fetches `url` (relative to the page) as text.
pub async fn fetch_text(url: &str) -> Result<String, String> {
    debug_assert!(!url.starts_with('/'), "use relative URLs: {url}");
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| describe(url, &e))?
        .dyn_into()
        .map_err(|e| describe(url, &e))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let text = response.text().map_err(|e| describe(url, &e))?;
    JsFuture::from(text)
        .await
        .map_err(|e| describe(url, &e))?
        .as_string()
        .ok_or_else(|| format!("{url}: the response is not text"))
}

fn describe(url: &str, error: &JsValue) -> String {
    format!(
        "{url}: {}",
        error.as_string().unwrap_or_else(|| format!("{error:?}"))
    )
}
