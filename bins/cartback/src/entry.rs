//! The `main` of each binary.

use std::process::ExitCode;

use clap::Parser;

use crate::options::{ApiCli, Cli, LogFormat, WorkerCli};
use crate::{public_url, run};

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// A failure is one line on standard error: `error: …` in text logs, one
/// ERROR record in JSON logs (where a log collector wants it), never both.
fn report(result: anyhow::Result<()>, log_format: LogFormat) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            match log_format {
                LogFormat::Json => tracing::error!("{error:#}"),
                LogFormat::Text => eprintln!("error: {error:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

pub fn api_main() -> ExitCode {
    let cli = ApiCli::parse();
    run::init_logging(&cli.common);
    report(
        (|| {
            let public_url = public_url::for_api(cli.public.public_url.as_deref(), cli.api.bind)?;
            let keys = run::master_keys(&cli.common)?;
            let store = run::open_store(&cli.common, Some(&cli.migrate))?;
            runtime()?.block_on(run::run_api(
                store,
                &cli.api,
                &public_url,
                &cli.outbound,
                keys,
            ))
        })(),
        cli.common.log_format,
    )
}

pub fn worker_main() -> ExitCode {
    let cli = WorkerCli::parse();
    run::init_logging(&cli.common);
    report(
        (|| {
            let public_url = public_url::for_worker(cli.worker.public_url.as_deref())?;
            let store = run::open_store(&cli.common, Some(&cli.migrate))?;
            let provider = run::build_provider(&cli.email)?;
            let keys = run::master_keys(&cli.common)?;
            runtime()?.block_on(run::run_worker(
                store,
                provider,
                &cli.worker,
                &public_url,
                &cli.outbound,
                keys,
            ))
        })(),
        cli.common.log_format,
    )
}

pub fn cli_main() -> ExitCode {
    let cli = Cli::parse();
    run::init_logging(&cli.common);
    // An admin command's failure is one line for the person at the terminal (or
    // the cron mail), whatever the log format.
    let result = runtime()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(crate::commands::execute(cli)));
    report(result, LogFormat::Text)
}
