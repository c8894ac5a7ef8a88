//! Wiring: logging, store, provider, api server, worker, shutdown.

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use cartback_api::auth::AuthCache;
use cartback_api::{
    ApiLimits, AppState, Ingest, IngestConfig, Metrics, RateLimitConfig, RateLimiter, StripeClient,
};
use cartback_email::{
    EmailProvider, FileProvider, MailgunConfig, MailgunProvider, MailgunRegion, RESEND_API,
    ResendConfig, ResendProvider, SENDGRID_API, SendGridConfig, SendGridProvider, SesConfig,
    SesProvider, SmtpConfig, SmtpProvider, ses_credentials,
};
use cartback_store::crypto::MasterKeys;
use cartback_store::{Store, redact_url};
use cartback_worker::{WebhookConfig, Worker, WorkerConfig};

use crate::options::{
    ApiArgs, CommonArgs, EmailArgs, LogFormat, MailgunRegionArg, MigrateArgs, OutboundArgs,
    ProviderKind, WorkerArgs,
};

pub fn init_logging(common: &CommonArgs) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = EnvFilter::try_new(&common.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // actix-http reports a client's malformed request or dropped connection as
    // ERROR ("stream error"); it is the client's fault, not ours, so it shows
    // only when the operator asks for debug logs.
    let client_noise = client_error_filter(
        filter
            .max_level_hint()
            .is_some_and(|max| max >= tracing::level_filters::LevelFilter::DEBUG),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr);
    // A second init (tests calling several entry points) is harmless.
    let _ = match common.log_format {
        LogFormat::Json => builder.json().finish().with(client_noise).try_init(),
        LogFormat::Text => builder.finish().with(client_noise).try_init(),
    };
}

/// Colour codes only for a person at a terminal: never in a file, a pipe or
/// the journal, and never when `NO_COLOR` is set to anything (no-color.org).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Drops actix-http's ERROR lines about what clients sent unless `debug` is on.
fn client_error_filter(
    debug: bool,
) -> tracing_subscriber::filter::FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool> {
    tracing_subscriber::filter::filter_fn(move |meta| {
        debug
            || !(meta.target().starts_with("actix_http::h1")
                && *meta.level() == tracing::Level::ERROR)
    })
}

/// Opens the store and, unless told not to, applies pending migrations.
pub fn open_store(common: &CommonArgs, migrate: Option<&MigrateArgs>) -> anyhow::Result<Store> {
    let store = open_unmigrated(common)?;
    if migrate.is_none_or(|m| !m.no_migrate) {
        for name in apply_migrations(&store)? {
            tracing::info!(migration = %name, "applied migration");
        }
    }
    Ok(store)
}

/// Opens the store as it is.
pub fn open_unmigrated(common: &CommonArgs) -> anyhow::Result<Store> {
    Store::open(&common.database_url, common.db_pool_size)
        .with_context(|| format!("opening {}", redact_url(&common.database_url)))
}

/// Applies pending migrations; returns their names.
pub fn apply_migrations(store: &Store) -> anyhow::Result<Vec<String>> {
    store.migrate().context("applying migrations")
}

fn api_key(email: &EmailArgs) -> anyhow::Result<String> {
    email
        .provider_api_key
        .clone()
        .filter(|k| !k.is_empty())
        .context("this provider needs --provider-api-key (CARTBACK_PROVIDER_API_KEY)")
}

/// The server's own provider. The operator chose every address in it (flags and
/// environment), so it is built without the SSRF guard that tenants' providers
/// get: a relay or API stub on a private network is a legitimate choice here.
pub fn build_provider(email: &EmailArgs) -> anyhow::Result<Arc<dyn EmailProvider>> {
    Ok(match email.email_provider {
        ProviderKind::File => Arc::new(FileProvider::new(email.outbox_dir.clone())),
        ProviderKind::Smtp => {
            let url = email
                .smtp_url
                .as_deref()
                .context("--email-provider smtp needs --smtp-url (CARTBACK_SMTP_URL)")?;
            let mut config = SmtpConfig::from_url(url).context("invalid --smtp-url")?;
            if let Some(path) = &email.smtp_ca_file {
                config.ca_certificates_pem = Some(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading --smtp-ca-file {}", path.display()))?,
                );
            }
            Arc::new(SmtpProvider::new(config).context("configuring SMTP")?)
        }
        ProviderKind::Resend => {
            let mut config = ResendConfig::new(api_key(email)?, RESEND_API);
            if let Some(url) = &email.provider_base_url {
                config.base_url = url.clone();
            }
            Arc::new(ResendProvider::new(config)?)
        }
        ProviderKind::Sendgrid => {
            let mut config = SendGridConfig::new(api_key(email)?, SENDGRID_API);
            if let Some(url) = &email.provider_base_url {
                config.base_url = url.clone();
            }
            Arc::new(SendGridProvider::new(config)?)
        }
        ProviderKind::Mailgun => {
            let domain = email.mailgun_domain.clone().context(
                "--email-provider mailgun needs --mailgun-domain (CARTBACK_MAILGUN_DOMAIN)",
            )?;
            let region = match email.mailgun_region {
                MailgunRegionArg::Us => MailgunRegion::Us,
                MailgunRegionArg::Eu => MailgunRegion::Eu,
            };
            let mut config = MailgunConfig::new(api_key(email)?, domain, region);
            if let Some(url) = &email.provider_base_url {
                config.base_url = url.clone();
            }
            Arc::new(MailgunProvider::new(config)?)
        }
        ProviderKind::Ses => Arc::new(SesProvider::new(SesConfig {
            region: email.ses_region.clone(),
            credentials: ses_credentials(&email.ses_access_key_id, &email.ses_secret_access_key)
                .context("--ses-access-key-id and --ses-secret-access-key go together")?,
            endpoint_url: email.provider_base_url.clone(),
            refuse_private: false,
        })?),
    })
}

pub fn worker_config(args: &WorkerArgs, public_url: &str, targets: &OutboundArgs) -> WorkerConfig {
    let allow_private_targets = targets.allow_private_targets();
    WorkerConfig {
        worker_id: args
            .worker_id
            .clone()
            .unwrap_or_else(WorkerConfig::generate_worker_id),
        poll_interval: args.poll_interval,
        batch_size: args.batch_size.max(1),
        concurrency: args.concurrency.max(1),
        lease: args.lease,
        max_attempts: args.max_attempts.max(1),
        retry_base: args.retry_base,
        public_url: public_url.to_owned(),
        webhooks: WebhookConfig {
            schedule: args.webhook_retry_schedule.clone(),
            timeout: args.webhook_timeout,
            concurrency: args.webhook_concurrency.max(1),
            batch_size: args.batch_size.max(1),
            allow_private: allow_private_targets,
        },
        stripe_api_base: targets.stripe_api_base.clone(),
        allow_private_targets,
        retention_days: args.retention_days,
        ..WorkerConfig::default()
    }
}

/// Reads a key file; surrounding whitespace (a trailing newline) is not part of it.
fn read_key_file(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    Ok(text.trim().to_owned())
}

/// One source of a key: the file flag or the environment variable, not both.
fn key_source(
    file: Option<&std::path::Path>,
    env: Option<&str>,
    flag: &str,
    var: &str,
) -> anyhow::Result<Option<String>> {
    match (file, env) {
        (Some(_), Some(_)) => anyhow::bail!("give {flag} or {var}, not both"),
        (Some(path), None) => Ok(Some(read_key_file(path, flag)?)),
        (None, env) => Ok(env.map(str::to_owned)),
    }
}

/// The master keys, from the environment (`CARTBACK_MASTER_KEY`,
/// `CARTBACK_PREVIOUS_MASTER_KEYS`) or from files (`--master-key-file`,
/// `--previous-master-keys-file`); never from the command line, where any user of
/// the machine could read them in the process list.
pub fn master_keys(common: &CommonArgs) -> anyhow::Result<Arc<MasterKeys>> {
    if common.master_key_argv.is_some() || common.previous_master_keys_argv.is_some() {
        anyhow::bail!(
            "master keys are not accepted on the command line (every user of the machine can read it): \
             set CARTBACK_MASTER_KEY / CARTBACK_PREVIOUS_MASTER_KEYS in the environment, \
             or use --master-key-file / --previous-master-keys-file"
        );
    }
    let current = key_source(
        common.master_key_file.as_deref(),
        common.master_key.as_deref(),
        "--master-key-file",
        "CARTBACK_MASTER_KEY",
    )?;
    // A file may list earlier keys one per line.
    let previous = key_source(
        common.previous_master_keys_file.as_deref(),
        common.previous_master_keys.as_deref(),
        "--previous-master-keys-file",
        "CARTBACK_PREVIOUS_MASTER_KEYS",
    )?
    .map(|keys| keys.replace(['\n', '\r'], ","));
    let keys = MasterKeys::from_config(current.as_deref(), previous.as_deref())
        .context("the master key (CARTBACK_MASTER_KEY or --master-key-file) / previous keys")?;
    Ok(Arc::new(keys))
}

pub fn api_server(
    store: Store,
    args: &ApiArgs,
    public_url: &str,
    targets: &OutboundArgs,
    master_keys: Arc<MasterKeys>,
) -> anyhow::Result<cartback_api::Server> {
    let listener =
        TcpListener::bind(args.bind).with_context(|| format!("binding {}", args.bind))?;
    let address = listener.local_addr()?;
    let workers = args
        .http_workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    let mut ingest = IngestConfig::for_backend(store.backend());
    ingest.max_batch = args.ingest_max_batch.max(1);
    ingest.linger = args.ingest_linger;
    if let Some(writers) = args.ingest_writers {
        ingest.writers = writers.max(1);
    }
    let state = AppState {
        ingest: Ingest::start(store.clone(), ingest).context("starting the ingest writer")?,
        auth_cache: Arc::new(AuthCache::new(args.auth_cache_ttl)),
        store,
        limits: ApiLimits {
            max_body_bytes: args.max_body_bytes,
            body_read_timeout: args.body_read_timeout,
        },
        master_keys,
        allow_private_targets: targets.allow_private_targets(),
        stripe: StripeClient::new(&targets.stripe_api_base).context("--stripe-api-base")?,
        rate_limits: Arc::new(RateLimiter::new(RateLimitConfig {
            ip_per_minute: args.rate_limit_ip_per_minute,
            key_per_minute: args.rate_limit_key_per_minute,
            auth_failures_per_minute: args.rate_limit_auth_failures_per_minute,
            stripe_per_minute: args.rate_limit_stripe_per_minute,
            trusted_proxies: args.proxies(),
        })),
        metrics: Arc::new(Metrics::new(args.metrics_token.clone())),
        public_url: public_url.to_owned(),
    };
    let server = cartback_api::build_server(state, listener, workers)?;
    tracing::info!(%address, workers, "api listening");
    Ok(server)
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}

/// Runs the api until a shutdown signal, then lets in-flight requests finish.
pub async fn run_api(
    store: Store,
    args: &ApiArgs,
    public_url: &str,
    targets: &OutboundArgs,
    master_keys: Arc<MasterKeys>,
) -> anyhow::Result<()> {
    let server = api_server(store, args, public_url, targets, master_keys)?;
    let handle = server.handle();
    let running = tokio::spawn(server);
    shutdown_signal().await;
    handle.stop(true).await;
    running.await??;
    Ok(())
}

/// Runs a worker until a shutdown signal; the batch in progress is finished.
pub async fn run_worker(
    store: Store,
    provider: Arc<dyn EmailProvider>,
    args: &WorkerArgs,
    public_url: &str,
    targets: &OutboundArgs,
    master_keys: Arc<MasterKeys>,
) -> anyhow::Result<()> {
    let worker = Worker::new(store, provider, worker_config(args, public_url, targets))
        .with_master_keys(master_keys);
    worker.run(shutdown_signal()).await?;
    Ok(())
}
