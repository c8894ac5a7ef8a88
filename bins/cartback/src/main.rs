//! `cartback`: the admin command line. All logic lives in the libraries.
fn main() -> std::process::ExitCode {
    cartback::entry::cli_main()
}
