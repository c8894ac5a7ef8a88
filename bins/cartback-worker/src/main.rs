//! `cartback-worker`: the recovery worker. All logic lives in the libraries.
fn main() -> std::process::ExitCode {
    cartback::entry::worker_main()
}
