//! Every flag also reads an environment variable; `--help` shows both.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use cartback_api::TrustedProxies;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The public URL when none is given: right only when shoppers and the api share a machine.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// "250ms", "30s", "5m", "2h" or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 250ms, 30s, 5m or 2h"))?;
    let millis = match unit {
        "ms" => Some(value),
        "" | "s" => value.checked_mul(1_000),
        "m" => value.checked_mul(60_000),
        "h" => value.checked_mul(3_600_000),
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: use ms, s, m or h"
            ));
        }
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

fn parse_trusted_proxies(text: &str) -> Result<TrustedProxies, String> {
    text.parse()
}

impl ApiArgs {
    /// `--trusted-proxies`, or one hop for the old `--trust-forwarded-for`.
    pub fn proxies(&self) -> TrustedProxies {
        match &self.trusted_proxies {
            Some(proxies) => proxies.clone(),
            None if self.trust_forwarded_for => TrustedProxies::Hops(1),
            None => TrustedProxies::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret that is only ever read from the environment (an empty value is none).
fn secret_from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[derive(Clone, Args)]
#[command(next_help_heading = "Database, logs and master key")]
pub struct CommonArgs {
    /// Database: sqlite://path (embedded default) or postgres://user@host/db.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://cartback.db",
        global = true
    )]
    pub database_url: String,
    /// Connections in the pool.
    #[arg(
        long,
        env = "CARTBACK_DB_POOL_SIZE",
        default_value_t = 10,
        global = true
    )]
    pub db_pool_size: u32,
    /// Log format: text (coloured only on a terminal, never with NO_COLOR) or json (one object per line).
    #[arg(long, env = "CARTBACK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// File holding the master key that seals provider credentials and webhook and Stripe secrets (32 random bytes, base64, from `cartback keys generate-master`; surrounding whitespace ignored). Instead, the key itself may be in CARTBACK_MASTER_KEY: the environment only, never the command line, where every user of the machine can read it.
    #[arg(long, env = "CARTBACK_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// CARTBACK_MASTER_KEY, read from the environment only.
    #[arg(skip = secret_from_env("CARTBACK_MASTER_KEY"))]
    pub master_key: Option<String>,
    /// Refused: a key on the command line shows in the process list. Kept
    /// (hidden) to say so plainly instead of "unexpected argument".
    #[arg(long = "master-key", hide = true, global = true)]
    pub master_key_argv: Option<String>,
    /// File of earlier master keys (comma- or line-separated): they still open what they sealed, until `cartback keys rotate-master`. Instead, CARTBACK_PREVIOUS_MASTER_KEYS in the environment (never the command line).
    #[arg(long, env = "CARTBACK_PREVIOUS_MASTER_KEYS_FILE", global = true)]
    pub previous_master_keys_file: Option<PathBuf>,
    /// CARTBACK_PREVIOUS_MASTER_KEYS, read from the environment only.
    #[arg(skip = secret_from_env("CARTBACK_PREVIOUS_MASTER_KEYS"))]
    pub previous_master_keys: Option<String>,
    /// Refused like `--master-key`.
    #[arg(long = "previous-master-keys", hide = true, global = true)]
    pub previous_master_keys_argv: Option<String>,
    /// Log filter, e.g. "info" or "cartback_worker=debug,info".
    #[arg(long, env = "CARTBACK_LOG", default_value = "info", global = true)]
    pub log: String,
}

impl std::fmt::Debug for CommonArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a key, even in a debug log.
        f.debug_struct("CommonArgs")
            .field(
                "database_url",
                &cartback_store::redact_url(&self.database_url),
            )
            .field("db_pool_size", &self.db_pool_size)
            .field("log_format", &self.log_format)
            .field("master_key_file", &self.master_key_file)
            .field("master_key", &self.master_key.as_ref().map(|_| "***"))
            .field("previous_master_keys_file", &self.previous_master_keys_file)
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Database, logs and master key")]
pub struct MigrateArgs {
    /// Do not apply pending migrations at start (run `cartback migrate` instead).
    #[arg(long, env = "CARTBACK_NO_MIGRATE")]
    pub no_migrate: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP server")]
pub struct ApiArgs {
    /// Address the HTTP server listens on. Anything but a loopback address needs --public-url too.
    #[arg(long, env = "CARTBACK_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "CARTBACK_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "CARTBACK_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Longest a client may take to send a request's head, and then its whole body (408 beyond).
    #[arg(long, env = "CARTBACK_BODY_READ_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,
    /// Most tracked carts committed in one transaction (group commit).
    #[arg(long, env = "CARTBACK_INGEST_MAX_BATCH", default_value_t = 256)]
    pub ingest_max_batch: usize,
    /// How long a batch may wait for more carts once a writer is free (0: none).
    #[arg(long, env = "CARTBACK_INGEST_LINGER", default_value = "0ms", value_parser = parse_duration)]
    pub ingest_linger: Duration,
    /// How long a resolved API key is remembered: a revoked key stops working within this time (0: ask the database every time).
    #[arg(long, env = "CARTBACK_AUTH_CACHE_TTL", default_value = "5s", value_parser = parse_duration)]
    pub auth_cache_ttl: Duration,
    /// Batches committing at once (default: 1 on SQLite, 2 on PostgreSQL).
    #[arg(long, env = "CARTBACK_INGEST_WRITERS")]
    pub ingest_writers: Option<usize>,
    /// Requests per minute per client IP on the browser and email-link routes (public capture, tracking with a publishable key, /r/…, /u/…); 0: no limit.
    #[arg(long, env = "CARTBACK_RATE_LIMIT_IP_PER_MINUTE", default_value_t = 100)]
    pub rate_limit_ip_per_minute: u32,
    /// Requests per minute per secret key on every other route (server-side tracking included: room for a sale's burst, a bound on a runaway client); 0: no limit.
    #[arg(
        long,
        env = "CARTBACK_RATE_LIMIT_KEY_PER_MINUTE",
        default_value_t = 60_000
    )]
    pub rate_limit_key_per_minute: u32,
    /// Requests per minute per client IP that fail to authenticate (no key, an unknown or revoked one); past it that IP's API requests without a known-good key get 429; 0: no limit.
    #[arg(
        long,
        env = "CARTBACK_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 30
    )]
    pub rate_limit_auth_failures_per_minute: u32,
    /// Requests per minute per client IP on Stripe's event intake (Stripe sends every tenant's events from a few addresses); 0: no limit.
    #[arg(
        long,
        env = "CARTBACK_RATE_LIMIT_STRIPE_PER_MINUTE",
        default_value_t = 600
    )]
    pub rate_limit_stripe_per_minute: u32,
    /// Proxies in front of the api whose X-Forwarded-For is believed: a hop count (1 = one proxy: the right-most entry is the client) or a comma-separated list of proxy addresses and CIDRs (the right-most entry outside them is the client). Default: none, the peer address is the client.
    #[arg(long, env = "CARTBACK_TRUSTED_PROXIES", value_parser = parse_trusted_proxies)]
    pub trusted_proxies: Option<TrustedProxies>,
    /// Old spelling of --trusted-proxies 1 (one proxy; its right-most X-Forwarded-For entry is the client). Ignored when --trusted-proxies is given.
    #[arg(long, env = "CARTBACK_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,
    /// Require `Authorization: Bearer <token>` on /metrics (default: open to anyone who reaches the api; set it whenever the api listens beyond loopback).
    #[arg(long, env = "CARTBACK_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

// The variants carry no doc comments on purpose: a value with its own help
// switches clap to the long help layout, and every binary's --help keeps one
// layout. What each one needs is said in --email-provider's help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderKind {
    File,
    Smtp,
    Resend,
    Sendgrid,
    Mailgun,
    Ses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MailgunRegionArg {
    Us,
    Eu,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Email provider")]
pub struct EmailArgs {
    /// Server-wide email provider, used for tenants without their own: file (an .eml per email in --outbox-dir), smtp (--smtp-url), resend or sendgrid (--provider-api-key), mailgun (--provider-api-key, --mailgun-domain, --mailgun-region), ses (--ses-region, and --ses-access-key-id with --ses-secret-access-key or AWS's default credential chain).
    #[arg(long, env = "CARTBACK_EMAIL_PROVIDER", value_enum, default_value_t = ProviderKind::File)]
    pub email_provider: ProviderKind,
    /// Where the file provider writes .eml files.
    #[arg(long, env = "CARTBACK_OUTBOX_DIR", default_value = "outbox")]
    pub outbox_dir: PathBuf,
    /// SMTP server: smtp://user:pass@host:587 (STARTTLS with ?tls=starttls), smtps://host:465, or smtp://127.0.0.1:1025 for a local catcher.
    #[arg(long, env = "CARTBACK_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// PEM file of extra root certificates for an SMTP relay signed by a private CA.
    #[arg(long, env = "CARTBACK_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// API key of the resend, sendgrid or mailgun provider.
    #[arg(long, env = "CARTBACK_PROVIDER_API_KEY", hide_env_values = true)]
    pub provider_api_key: Option<String>,
    /// Override the provider's API base URL (a proxy, or a local stub in tests).
    #[arg(long, env = "CARTBACK_PROVIDER_BASE_URL")]
    pub provider_base_url: Option<String>,
    /// AWS region of SES.
    #[arg(long, env = "CARTBACK_SES_REGION", default_value = "us-east-1")]
    pub ses_region: String,
    /// AWS access key id for SES. Without it (and the secret), AWS's default credential chain: AWS_* environment, profile files, container or instance role.
    #[arg(long, env = "CARTBACK_SES_ACCESS_KEY_ID")]
    pub ses_access_key_id: Option<String>,
    /// AWS secret access key for SES.
    #[arg(long, env = "CARTBACK_SES_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub ses_secret_access_key: Option<String>,
    /// Mailgun sending domain.
    #[arg(long, env = "CARTBACK_MAILGUN_DOMAIN")]
    pub mailgun_domain: Option<String>,
    /// Mailgun region: us (api.mailgun.net) or eu (api.eu.mailgun.net).
    #[arg(long, env = "CARTBACK_MAILGUN_REGION", value_enum, default_value_t = MailgunRegionArg::Us)]
    pub mailgun_region: MailgunRegionArg,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Worker")]
pub struct WorkerArgs {
    /// Pause between polls when nothing is due (e.g. 1s, 50ms).
    #[arg(long, env = "CARTBACK_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Carts claimed per poll.
    #[arg(long, env = "CARTBACK_BATCH_SIZE", default_value_t = 100)]
    pub batch_size: i64,
    /// Concurrent sends per email provider (the default one, and each tenant's own).
    #[arg(long, env = "CARTBACK_CONCURRENCY", default_value_t = 16)]
    pub concurrency: usize,
    /// How long a claim lasts before another worker may take the cart over. Must exceed the slowest provider call (15 s for HTTP providers, 30 s for SMTP), or another worker may take over a cart whose send is still in flight; the default leaves room.
    #[arg(long, env = "CARTBACK_LEASE", default_value = "2m", value_parser = parse_duration)]
    pub lease: Duration,
    /// Attempts before a failing send is given up.
    #[arg(long, env = "CARTBACK_MAX_ATTEMPTS", default_value_t = 8)]
    pub max_attempts: u32,
    /// Wait before the first retry of a failing send; doubled per attempt, at most 1 h, plus 0-25 % jitter. A provider's Retry-After wins when it is longer.
    #[arg(long, env = "CARTBACK_RETRY_BASE", default_value = "30s", value_parser = parse_duration)]
    pub retry_base: Duration,
    // The text is clap's --help, where a bare URL reads best.
    #[expect(rustdoc::bare_urls, reason = "the doc comment is the --help text")]
    /// Public URL of the api, as shoppers' browsers reach it (e.g. https://cartback.example.com): every link in recovery emails starts with it. Default: http://127.0.0.1:8080, which only this machine reaches (a warning at start says so).
    #[arg(long, env = "CARTBACK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// This worker's id (default: host, pid and a random suffix).
    #[arg(long, env = "CARTBACK_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Waits between webhook attempts, comma separated (ms, s, m, h, d); a delivery is dead after the last.
    #[arg(
        long,
        env = "CARTBACK_WEBHOOK_RETRY_SCHEDULE",
        default_value = "5s,1m,5m,30m,1h,2h,4h,8h,12h,1d,1d",
        value_parser = parse_retry_schedule
    )]
    pub webhook_retry_schedule: cartback_webhooks::RetrySchedule,
    /// Limit of one webhook attempt.
    #[arg(long, env = "CARTBACK_WEBHOOK_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,
    /// Webhook deliveries in flight at once.
    #[arg(long, env = "CARTBACK_WEBHOOK_CONCURRENCY", default_value_t = 16)]
    pub webhook_concurrency: usize,
    /// Delete finished carts (with their sends and history), finished webhook deliveries and history older than this many days, and strip old orders' address; 0 keeps everything forever.
    #[arg(long, env = "CARTBACK_RETENTION_DAYS", default_value_t = cartback_worker::DEFAULT_RETENTION_DAYS)]
    pub retention_days: u32,
}

/// Where cartback calls out to; shared by the api (checks webhook URLs when
/// saved, creates payment links) and the worker (checks every address it
/// connects to, puts payment links into emails).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Outbound calls")]
pub struct OutboundArgs {
    /// Stripe's API base URL, for payment links (a proxy, or a local stub in tests).
    #[arg(long, env = "CARTBACK_STRIPE_API_BASE", default_value = cartback_stripe::DEFAULT_BASE_URL)]
    pub stripe_api_base: String,
    /// Let tenants' webhook endpoints and own email providers (HTTP base URL, SMTP host, SES endpoint) reach private, loopback, link-local and other reserved addresses (tests, private networks). Refused by default, at save and at every connection. The server's own provider (--email-provider and its flags) is the operator's choice and never checked.
    #[arg(long, env = "CARTBACK_ALLOW_PRIVATE_TARGETS", default_value_t = false)]
    pub allow_private_targets: bool,
    /// Deprecated spelling of --allow-private-targets: it covers tenants' email providers (HTTP base URL, SMTP host, SES endpoint) as well as webhook endpoints. Kept so existing deployments keep working.
    #[arg(
        long = "allow-private-webhook-targets",
        env = "CARTBACK_ALLOW_PRIVATE_WEBHOOK_TARGETS",
        default_value_t = false,
        hide = true
    )]
    pub allow_private_webhook_targets: bool,
}

impl OutboundArgs {
    /// Whether tenants' targets may be private, under either spelling.
    pub fn allow_private_targets(&self) -> bool {
        if self.allow_private_webhook_targets {
            tracing::warn!(
                "--allow-private-webhook-targets (CARTBACK_ALLOW_PRIVATE_WEBHOOK_TARGETS) is deprecated: \
                 use --allow-private-targets (CARTBACK_ALLOW_PRIVATE_TARGETS), which also covers tenants' email providers"
            );
        }
        self.allow_private_targets || self.allow_private_webhook_targets
    }
}

fn parse_retry_schedule(text: &str) -> Result<cartback_webhooks::RetrySchedule, String> {
    cartback_webhooks::RetrySchedule::parse(text).map_err(|e| e.to_string())
}

/// `cartback-api`: the HTTP service.
#[derive(Debug, Parser)]
#[command(
    name = "cartback-api",
    version,
    about = "cartback HTTP API (run many behind a load balancer)"
)]
pub struct ApiCli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub migrate: MigrateArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub public: PublicUrlArgs,
    #[command(flatten)]
    pub outbound: OutboundArgs,
}

/// `cartback-worker`: sends the recovery emails.
#[derive(Debug, Parser)]
#[command(
    name = "cartback-worker",
    version,
    about = "cartback recovery worker (run as many as you like on one database)"
)]
pub struct WorkerCli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub migrate: MigrateArgs,
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub email: EmailArgs,
    #[command(flatten)]
    pub outbound: OutboundArgs,
}

/// `cartback`: administration, and `dev` for a one-process local setup.
#[derive(Debug, Parser)]
#[command(
    name = "cartback",
    version,
    about = "cartback: self-hosted abandoned-cart recovery"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations and say how many were applied.
    Migrate,
    /// Manage tenants (shops).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// People who sign in to a tenant's dashboard (docs/dashboard.md).
    #[command(subcommand)]
    User(UserCommand),
    /// A tenant's own email provider (sealed with the master key).
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Master keys of provider credentials.
    #[command(subcommand)]
    Keys(MasterKeyCommand),
    /// A tenant's recovery policy and email settings (docs/api/settings.md).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run the api and the worker in one process with a demo tenant (local development).
    Dev(Box<DevArgs>),
    /// Write a consistent copy of the SQLite database to a file, safe while the
    /// api and worker run (PostgreSQL: use pg_dump; see docs/operating.md).
    Backup(BackupArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The backup file to write; refused if it exists, unless --force.
    #[arg(long, env = "CARTBACK_BACKUP_TO")]
    pub to: PathBuf,
    /// Replace the file if it exists.
    #[arg(long, env = "CARTBACK_BACKUP_FORCE")]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Store the tenant's provider: JSON such as {"provider":"resend","apiKey":"re_…"}.
    Set {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// The settings JSON (see docs/api/email-provider.md), or `-` to read it from standard input (keeps the API key off the command line).
        #[arg(long, env = "CARTBACK_PROVIDER_SETTINGS", hide_env_values = true)]
        settings: String,
    },
    /// Show the tenant's provider, masked.
    Show {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
    },
    /// Remove the tenant's provider: the server default applies again.
    Delete {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
    },
    /// Send a test email through the tenant's provider.
    Test {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// Recipient of the test email.
        #[arg(long, env = "CARTBACK_TEST_TO")]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the tenant's policy and email settings as JSON.
    Show {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
    },
    /// Replace the policy and/or the email settings; what is not given stays.
    Set {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// The policy JSON, e.g. {"steps":[{"delayMs":3600000}],"maxEmailsPerCart":1}.
        #[arg(long, env = "CARTBACK_POLICY")]
        policy: Option<String>,
        /// The email settings JSON, e.g. {"design":"bold_banner","brandColor":"#0f766e"}.
        #[arg(long, env = "CARTBACK_EMAIL_SETTINGS")]
        email: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new random master key (base64 of 32 bytes) on standard output, and its key id (the one `rotate-master` reports) on standard error.
    GenerateMaster,
    /// Re-seal every stored credential under the current CARTBACK_MASTER_KEY; the
    /// old key must be in CARTBACK_PREVIOUS_MASTER_KEYS while this runs.
    RotateMaster,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its secret and publishable keys (shown only once).
    Create {
        /// The shop's name, shown in emails.
        #[arg(long, env = "CARTBACK_TENANT_NAME")]
        name: String,
        /// Sender address of recovery emails.
        #[arg(
            long = "from",
            env = "CARTBACK_TENANT_FROM",
            default_value = "shop@example.com"
        )]
        from: String,
        /// Sender display name (default: the shop's name).
        #[arg(long, env = "CARTBACK_TENANT_FROM_NAME")]
        from_name: Option<String>,
        /// The shop's cart page, where recovery links lead: `session_id` (the tracked sessionId) and `cart_token` (restores the cart on any device, see docs/api/links.md) are appended to its query.
        #[arg(long, env = "CARTBACK_TENANT_RECOVERY_URL")]
        recovery_url: Option<String>,
        /// Delay of a single recovery email instead of the default 1 h / 24 h / 72 h series (e.g. 30s).
        #[arg(long, env = "CARTBACK_TENANT_DELAY", value_parser = parse_duration)]
        delay: Option<Duration>,
        /// Print JSON instead of text.
        #[arg(long, env = "CARTBACK_JSON")]
        json: bool,
    },
    /// List tenants.
    List {
        /// Print JSON instead of text.
        #[arg(long, env = "CARTBACK_JSON")]
        json: bool,
    },
    /// Stop serving a tenant for now: its keys are refused (403 TENANT_INACTIVE), its dashboard is closed, the worker sends it no email or webhook; its carts wait (docs/operating.md).
    Suspend {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        tenant: String,
    },
    /// Serve a suspended or closed tenant again: its waiting carts are looked at at once.
    Resume {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        tenant: String,
    },
    /// Mark a tenant as gone: refused like a suspended one; its data stays until erased.
    Close {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        tenant: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyKindArg {
    Secret,
    Publishable,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key and print it (shown only once).
    Create {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// secret (sk_…: every API call) or publishable (pk_…: may only write carts; safe in a browser).
        #[arg(long, env = "CARTBACK_KEY_KIND", value_enum, default_value_t = KeyKindArg::Secret)]
        kind: KeyKindArg,
        /// A note to recognise the key by.
        #[arg(long, env = "CARTBACK_KEY_LABEL")]
        label: Option<String>,
        /// Print JSON instead of text.
        #[arg(long, env = "CARTBACK_JSON")]
        json: bool,
    },
    /// List a tenant's keys: id, kind, prefix, state and creation date (never the keys themselves).
    List {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// Print JSON instead of text.
        #[arg(long, env = "CARTBACK_JSON")]
        json: bool,
    },
    /// Revoke a key by id; revoking a revoked key again changes nothing and succeeds.
    Revoke {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// The key's id (key_…), as `key list` shows.
        #[arg(long = "key", env = "CARTBACK_KEY_ID")]
        key_id: String,
    },
}

// No doc comments on the variants: see `ProviderKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UserRoleArg {
    Owner,
    Admin,
    Viewer,
}

impl UserRoleArg {
    pub fn role(self) -> cartback_domain::UserRole {
        match self {
            UserRoleArg::Owner => cartback_domain::UserRole::Owner,
            UserRoleArg::Admin => cartback_domain::UserRole::Admin,
            UserRoleArg::Viewer => cartback_domain::UserRole::Viewer,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a password read from standard input (never from the command line).
    Create {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// The address they sign in with (one account per address across tenants).
        #[arg(long, env = "CARTBACK_USER_EMAIL")]
        email: String,
        /// owner (everything, people included), admin (every setting and cart action) or viewer (reads only).
        #[arg(long, env = "CARTBACK_USER_ROLE", value_enum)]
        role: UserRoleArg,
        /// Read the password from standard input (its first line); required.
        #[arg(long, env = "CARTBACK_PASSWORD_STDIN")]
        password_stdin: bool,
        /// Print JSON instead of text.
        #[arg(long, env = "CARTBACK_JSON")]
        json: bool,
    },
    /// Print a one-time sign-in link, valid 24 h, creating the user (without a password) if needed.
    Invite {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// The address they sign in with.
        #[arg(long, env = "CARTBACK_USER_EMAIL")]
        email: String,
        /// Role of a new user (an existing one keeps theirs): owner, admin or viewer.
        #[arg(long, env = "CARTBACK_USER_ROLE", value_enum, default_value_t = UserRoleArg::Viewer)]
        role: UserRoleArg,
        /// Public URL of the api, as the invited person's browser reaches it: the link starts with it.
        #[arg(
            long,
            env = "CARTBACK_PUBLIC_URL",
            default_value = DEFAULT_PUBLIC_URL
        )]
        public_url: String,
        /// Print JSON instead of text.
        #[arg(long, env = "CARTBACK_JSON")]
        json: bool,
    },
    /// List a tenant's users.
    List {
        /// The tenant's id (ten_…), as `cartback tenant list` shows.
        #[arg(long, env = "CARTBACK_TENANT")]
        tenant: String,
        /// Print JSON instead of text.
        #[arg(long, env = "CARTBACK_JSON")]
        json: bool,
    },
}

/// `cartback-api`'s own flags besides the shared [`ApiArgs`] (`cartback dev`
/// takes the public URL from its worker flags).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP server")]
pub struct PublicUrlArgs {
    // The text is clap's --help, where a bare URL reads best.
    #[expect(rustdoc::bare_urls, reason = "the doc comment is the --help text")]
    /// Public URL of the api, as shoppers' browsers reach it (e.g. https://cartback.example.com): dashboard sign-in links start with it, and an https one makes the dashboard's cookie Secure. Default: http://127.0.0.1:8080; required when --bind is not a loopback address.
    #[arg(long, env = "CARTBACK_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// `cartback dev`'s flags; its public URL defaults to `http://{--bind}`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub email: EmailArgs,
    #[command(flatten)]
    pub outbound: OutboundArgs,
    /// Delay of the demo tenant's single recovery email (when the demo tenant is first created).
    #[arg(long, env = "CARTBACK_DEMO_DELAY", default_value = "20s", value_parser = parse_duration)]
    pub demo_delay: Duration,
}
