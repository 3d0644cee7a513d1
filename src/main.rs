//! Entry point of the web app: install the panic hook and mount the root component.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(ttpmap_web::App);
}
