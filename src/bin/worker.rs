//! The inference Web Worker: trunk builds it as a second wasm module
//! (`<link data-trunk rel="rust" data-bin="worker" data-type="worker">` in index.html) and
//! the page starts it with `new Worker("worker-boot.js")`. See `ttpmap_web::worker`.

fn main() {
    console_error_panic_hook::set_once();
    ttpmap_web::worker::start();
}
