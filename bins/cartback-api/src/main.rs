//! `cartback-api`: the HTTP service. All logic lives in the libraries.
fn main() -> std::process::ExitCode {
    cartback::entry::api_main()
}
