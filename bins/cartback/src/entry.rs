//! The `main` of each binary.

use std::process::ExitCode;

use clap::Parser;

use crate::options::{ApiCli, Cli, WorkerCli};
use crate::run;

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

pub fn api_main() -> ExitCode {
    let cli = ApiCli::parse();
    run::init_logging(&cli.common);
    finish((|| {
        let keys = run::master_keys(&cli.common)?;
        let store = run::open_store(&cli.common, Some(&cli.migrate))?;
        runtime()?.block_on(run::run_api(
            store,
            &cli.api,
            &cli.public.public_url,
            &cli.outbound,
            keys,
        ))
    })())
}

pub fn worker_main() -> ExitCode {
    let cli = WorkerCli::parse();
    run::init_logging(&cli.common);
    finish((|| {
        let store = run::open_store(&cli.common, Some(&cli.migrate))?;
        let provider = run::build_provider(&cli.email)?;
        let keys = run::master_keys(&cli.common)?;
        runtime()?.block_on(run::run_worker(
            store,
            provider,
            &cli.worker,
            &cli.outbound,
            keys,
        ))
    })())
}

pub fn cli_main() -> ExitCode {
    let cli = Cli::parse();
    run::init_logging(&cli.common);
    let result = runtime()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(crate::commands::execute(cli)));
    // An admin command's failure is one line for the person at the terminal (or
    // the cron mail); a log record of it would only say it twice.
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
