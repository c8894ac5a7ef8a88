//! The `cartback` subcommands.

use std::io::Write;

use anyhow::{Context, bail};
use chrono::{TimeDelta, Utc};
use serde_json::json;

use cartback_domain::{EmailAddress, RecoveryPolicy, TenantStatus};
use cartback_email::{EmailMessage, Mailbox, ProviderSettings, Trust};
use cartback_store::Store;
use cartback_store::api_keys::{KeyKind, create_key, list_keys, revoke_key};
use cartback_store::crypto::MasterKeys;
use cartback_store::email_providers::{delete_provider, find_provider, reseal_all, set_provider};
use cartback_store::tenants::{
    NewTenant, Tenant, create_tenant, find_tenant, list_tenants, set_recovery_settings,
    set_tenant_status,
};
use cartback_templates::Experience;

use crate::options::{
    Cli, Command, DevArgs, KeyCommand, KeyKindArg, MasterKeyCommand, PolicyCommand,
    ProviderCommand, TenantCommand, UserCommand,
};
use crate::run;

pub async fn execute(cli: Cli) -> anyhow::Result<()> {
    let common = cli.common.clone();
    match cli.command {
        Command::Migrate => {
            let store = run::open_unmigrated(&common)?;
            let applied = run::apply_migrations(&store)?;
            let database = match store.backend() {
                cartback_store::Backend::Postgres => "PostgreSQL",
                cartback_store::Backend::Sqlite => "SQLite",
            };
            match applied.as_slice() {
                [] => println!("{database} database is up to date: no pending migrations"),
                [one] => println!("applied 1 migration to the {database} database: {one}"),
                many => println!(
                    "applied {} migrations to the {database} database: {}",
                    many.len(),
                    many.join(", ")
                ),
            }
            Ok(())
        }
        Command::Tenant(command) => tenant(run::open_store(&common, None)?, command),
        Command::Key(command) => key(run::open_store(&common, None)?, command),
        Command::User(command) => user(run::open_store(&common, None)?, command),
        Command::Keys(command) => master(&common, command),
        Command::Provider(command) => provider(&common, command).await,
        Command::Policy(command) => recovery_policy(run::open_store(&common, None)?, command),
        // Not through open_store: a backup must neither migrate the database
        // nor create one where none is.
        Command::Backup(args) => {
            let report =
                cartback_store::backup::backup_sqlite(&common.database_url, &args.to, args.force)?;
            println!(
                "backup written to {} ({} bytes in {} ms)",
                report.path.display(),
                report.bytes,
                report.took.as_millis()
            );
            Ok(())
        }
        Command::Dev(args) => {
            let keys = run::master_keys(&common)?;
            dev(run::open_store(&common, None)?, *args, keys).await
        }
    }
}

fn policy_for(delay: Option<std::time::Duration>) -> anyhow::Result<RecoveryPolicy> {
    Ok(match delay {
        Some(delay) => RecoveryPolicy::with_single_delay(
            TimeDelta::from_std(delay).context("delay out of range")?,
        ),
        None => RecoveryPolicy::default(),
    })
}

struct TenantSpec<'a> {
    name: &'a str,
    from: &'a str,
    from_name: Option<String>,
    recovery_url: Option<String>,
    policy: RecoveryPolicy,
}

/// Creates a tenant with one secret and one publishable key.
fn create_tenant_with_keys(
    store: &Store,
    spec: TenantSpec<'_>,
) -> anyhow::Result<(Tenant, String, String)> {
    let from = EmailAddress::parse(spec.from).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    if spec.name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    spec.policy
        .validate()
        .map_err(|e| anyhow::anyhow!("policy: {e}"))?;
    let mut conn = store.conn()?;
    let now = Utc::now().naive_utc();
    let created = cartback_store::write_transaction(&mut conn, |conn| {
        let tenant = create_tenant(
            conn,
            &NewTenant {
                name: spec.name.trim().to_owned(),
                from_email: from.as_str().to_owned(),
                from_name: spec.from_name,
                recovery_url: spec.recovery_url,
                policy: spec.policy,
            },
            now,
        )?;
        let secret = create_key(conn, &tenant.id, KeyKind::Secret, Some("default"), now)?;
        let publishable = create_key(conn, &tenant.id, KeyKind::Publishable, Some("default"), now)?;
        Ok::<_, cartback_store::StoreError>((tenant, secret.secret, publishable.secret))
    })?;
    Ok(created)
}

fn tenant(store: Store, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create {
            name,
            from,
            from_name,
            recovery_url,
            delay,
            json,
        } => {
            let (tenant, secret, publishable) = create_tenant_with_keys(
                &store,
                TenantSpec {
                    name: &name,
                    from: &from,
                    from_name,
                    recovery_url,
                    policy: policy_for(delay)?,
                },
            )?;
            if json {
                println!(
                    "{}",
                    json!({"tenantId": tenant.id, "name": tenant.name, "secretKey": secret, "publishableKey": publishable})
                );
            } else {
                println!("tenant          {} ({})", tenant.id, tenant.name);
                println!("secret key      {secret}");
                println!("publishable key {publishable}");
                println!("Keys are shown only now; store them safely.");
            }
            Ok(())
        }
        TenantCommand::List { json } => {
            let tenants = list_tenants(&mut *store.conn()?)?;
            if json {
                let list: Vec<_> = tenants
                    .iter()
                    .map(|t| json!({"tenantId": t.id, "name": t.name, "fromEmail": t.from_email, "recoveryUrl": t.recovery_url, "status": t.status.as_str()}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                print_table(
                    &["ID", "NAME", "SENDER", "STATUS"],
                    tenants
                        .into_iter()
                        .map(|t| vec![t.id, t.name, t.from_email, t.status.as_str().to_owned()])
                        .collect(),
                );
            }
            Ok(())
        }
        TenantCommand::Suspend { tenant } => {
            change_status(&store, &tenant, TenantStatus::Suspended)
        }
        TenantCommand::Resume { tenant } => change_status(&store, &tenant, TenantStatus::Active),
        TenantCommand::Close { tenant } => change_status(&store, &tenant, TenantStatus::Closed),
    }
}

fn change_status(store: &Store, tenant: &str, status: TenantStatus) -> anyhow::Result<()> {
    let now = Utc::now().naive_utc();
    let before = match set_tenant_status(&mut *store.conn()?, tenant, status, now) {
        Err(cartback_store::StoreError::NotFound) => bail!("no tenant {tenant:?}"),
        other => other?,
    };
    tracing::info!(
        tenant,
        from = before.as_str(),
        to = status.as_str(),
        "tenant status changed"
    );
    if before == status {
        println!("tenant {tenant} was {} already", status.as_str());
    } else {
        println!(
            "tenant {tenant} {} (was {})",
            status.as_str(),
            before.as_str()
        );
    }
    Ok(())
}

fn key(store: Store, command: KeyCommand) -> anyhow::Result<()> {
    let mut conn = store.conn()?;
    let require_tenant = |conn: &mut cartback_store::DbConn, id: &str| -> anyhow::Result<()> {
        if find_tenant(conn, id)?.is_none() {
            bail!("no tenant {id:?}");
        }
        Ok(())
    };
    match command {
        KeyCommand::Create {
            tenant,
            kind,
            label,
            json,
        } => {
            require_tenant(&mut conn, &tenant)?;
            let kind = match kind {
                KeyKindArg::Secret => KeyKind::Secret,
                KeyKindArg::Publishable => KeyKind::Publishable,
            };
            let created = create_key(
                &mut conn,
                &tenant,
                kind,
                label.as_deref(),
                Utc::now().naive_utc(),
            )?;
            if json {
                println!(
                    "{}",
                    json!({"keyId": created.key.id, "kind": kind.as_str(), "key": created.secret})
                );
            } else {
                println!("{} {}  {}", kind.as_str(), created.key.id, created.secret);
                println!("The key is shown only now; store it safely.");
            }
            Ok(())
        }
        KeyCommand::List { tenant, json } => {
            require_tenant(&mut conn, &tenant)?;
            let keys = list_keys(&mut conn, &tenant)?;
            if json {
                let list: Vec<_> = keys
                    .iter()
                    .map(|k| json!({"keyId": k.id, "kind": k.kind.as_str(), "prefix": k.prefix, "label": k.label, "createdAt": k.created_at.and_utc().to_rfc3339(), "revoked": k.revoked_at.is_some(), "lastUsedAt": k.last_used_at.map(|at| at.and_utc().to_rfc3339()), "revokedAt": k.revoked_at.map(|at| at.and_utc().to_rfc3339())}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                print_table(
                    &["ID", "KIND", "PREFIX", "STATE", "CREATED", "LABEL"],
                    keys.into_iter()
                        .map(|k| {
                            vec![
                                k.id,
                                k.kind.as_str().to_owned(),
                                format!("{}…", k.prefix),
                                if k.revoked_at.is_some() {
                                    "revoked"
                                } else {
                                    "active"
                                }
                                .to_owned(),
                                utc_minute(k.created_at),
                                k.label.unwrap_or_default(),
                            ]
                        })
                        .collect(),
                );
            }
            Ok(())
        }
        KeyCommand::Revoke { tenant, key_id } => {
            require_tenant(&mut conn, &tenant)?;
            match revoke_key(&mut conn, &tenant, &key_id, Utc::now().naive_utc()) {
                Ok(()) => println!("revoked {key_id}"),
                // Nothing live to revoke: a key revoked before is what was
                // asked for (a retried script must not fail), an unknown one is not.
                Err(cartback_store::StoreError::NotFound) => {
                    let revoked_at = list_keys(&mut conn, &tenant)?
                        .into_iter()
                        .find(|k| k.id == key_id)
                        .and_then(|k| k.revoked_at)
                        .with_context(|| format!("tenant {tenant:?} has no key {key_id:?}"))?;
                    println!(
                        "{key_id} was already revoked ({}); nothing changed",
                        utc_minute(revoked_at)
                    );
                }
                Err(other) => return Err(other.into()),
            }
            Ok(())
        }
    }
}

/// A moment as operators read it in a list: UTC, to the minute.
fn utc_minute(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Rows under a header, columns padded to their widest cell; a header alone
/// says the list is empty.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

const DEMO_TENANT: &str = "Demo shop";
/// The demo tenant's dashboard user (no password: `cartback dev` prints a
/// sign-in link at each start).
const DEMO_USER: &str = "owner@example.com";

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

fn user(store: Store, command: UserCommand) -> anyhow::Result<()> {
    use cartback_dashboard::accounts;
    let mut conn = store.conn()?;
    let mut require_tenant = |id: &str| -> anyhow::Result<()> {
        if find_tenant(&mut conn, id)?.is_none() {
            bail!("no tenant {id:?}");
        }
        Ok(())
    };
    let now = Utc::now().naive_utc();
    match command {
        UserCommand::Create {
            tenant,
            email,
            role,
            password_stdin,
            json,
        } => {
            require_tenant(&tenant)?;
            if !password_stdin {
                bail!(
                    "give --password-stdin and the password on standard input (never on the command line), \
                     or use `cartback user invite` for a sign-in link"
                );
            }
            let password = password_from_stdin()?;
            let user = accounts::create_user(
                &mut *store.conn()?,
                &tenant,
                &email,
                role.role(),
                Some(&password),
                now,
            )
            .map_err(|e| anyhow::anyhow!("--email {email:?}: {e}"))?;
            if json {
                println!(
                    "{}",
                    json!({"userId": user.id, "tenantId": user.tenant_id, "email": user.email, "role": user.role})
                );
            } else {
                println!("user {} ({}, {}) created", user.id, user.email, user.role);
            }
            Ok(())
        }
        UserCommand::Invite {
            tenant,
            email,
            role,
            public_url,
            json,
        } => {
            require_tenant(&tenant)?;
            let (user, link) = accounts::invite(
                &mut *store.conn()?,
                &tenant,
                &email,
                role.role(),
                &public_url,
                now,
            )
            .map_err(|e| anyhow::anyhow!("--email {email:?}: {e}"))?;
            if json {
                println!(
                    "{}",
                    json!({"userId": user.id, "email": user.email, "role": user.role, "signInLink": link})
                );
            } else {
                println!("sign-in link for {} ({}):", user.email, user.role);
                println!("{link}");
                println!("It works once, within 24 hours.");
            }
            Ok(())
        }
        UserCommand::List { tenant, json } => {
            require_tenant(&tenant)?;
            let users = cartback_store::users::list_users(&mut *store.conn()?, &tenant)?;
            if json {
                let list: Vec<_> = users
                    .iter()
                    .map(|u| json!({"userId": u.id, "email": u.email, "role": u.role, "hasPassword": u.password_hash.is_some()}))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                print_table(
                    &["ID", "ROLE", "EMAIL"],
                    users
                        .into_iter()
                        .map(|u| vec![u.id, u.role, u.email])
                        .collect(),
                );
            }
            Ok(())
        }
    }
}

fn recovery_policy(store: Store, command: PolicyCommand) -> anyhow::Result<()> {
    let (PolicyCommand::Show { tenant } | PolicyCommand::Set { tenant, .. }) = &command;
    let Some(tenant) = find_tenant(&mut *store.conn()?, tenant)? else {
        bail!("no tenant {tenant:?}");
    };
    let mut policy = tenant.recovery_policy()?;
    let mut email: Experience = serde_json::from_str(&tenant.experience).unwrap_or_default();
    if let PolicyCommand::Set {
        policy: new_policy,
        email: new_email,
        ..
    } = command
    {
        if let Some(text) = new_policy {
            policy = serde_json::from_str(&text).context("invalid policy JSON")?;
            let problems = policy.problems();
            if !problems.is_empty() {
                let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
                bail!("invalid policy: {}", listed.join("; "));
            }
        }
        if let Some(text) = new_email {
            email = serde_json::from_str(&text).context("invalid email settings JSON")?;
            email
                .validate(&tenant.name)
                .context("invalid email settings")?;
        }
        set_recovery_settings(
            &mut *store.conn()?,
            &tenant.id,
            &policy,
            &serde_json::to_string(&email)?,
            Utc::now().naive_utc(),
        )?;
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "policy": policy, "email": email }))?
    );
    Ok(())
}

async fn provider(
    common: &crate::options::CommonArgs,
    command: ProviderCommand,
) -> anyhow::Result<()> {
    let keys = run::master_keys(common)?;
    let store = run::open_store(common, None)?;
    let tenant_id = match &command {
        ProviderCommand::Set { tenant, .. }
        | ProviderCommand::Show { tenant }
        | ProviderCommand::Delete { tenant }
        | ProviderCommand::Test { tenant, .. } => tenant.clone(),
    };
    let Some(tenant) = find_tenant(&mut *store.conn()?, &tenant_id)? else {
        bail!("no tenant {tenant_id:?}");
    };
    match command {
        ProviderCommand::Set { settings, .. } => {
            let settings = if settings == "-" {
                std::io::read_to_string(std::io::stdin())
                    .context("reading the settings from standard input")?
            } else {
                settings
            };
            let parsed: ProviderSettings =
                serde_json::from_str(&settings).context("invalid provider settings")?;
            // The operator runs this command: like the server's own provider, what
            // it sets is not held to the tenants' SSRF guard here. The worker still
            // applies the guard when it sends (unless --allow-private-targets).
            parsed
                .build(Trust::Operator)
                .context("invalid provider settings")?;
            let masked = parsed.masked();
            set_provider(
                &mut *store.conn()?,
                &keys,
                &tenant.id,
                parsed.kind(),
                &serde_json::to_string(&parsed)?,
                &masked.to_string(),
                Utc::now(),
            )?;
            println!("{masked}");
        }
        ProviderCommand::Show { .. } => match find_provider(&mut *store.conn()?, &tenant.id)? {
            Some(row) => println!("{}", row.masked),
            None => println!("no provider of its own: the server default is used"),
        },
        ProviderCommand::Delete { .. } => {
            if !delete_provider(&mut *store.conn()?, &tenant.id)? {
                bail!("tenant {} has no provider of its own", tenant.id);
            }
            println!("deleted; the server default applies");
        }
        ProviderCommand::Test { to, .. } => {
            let to = EmailAddress::parse(&to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let row = find_provider(&mut *store.conn()?, &tenant.id)?
                .context("the tenant has no provider of its own")?;
            let settings: ProviderSettings = serde_json::from_str(&row.open(&keys)?)?;
            // Run by the operator, who can reach these addresses anyway.
            let provider = settings.build(Trust::Operator)?;
            let message = EmailMessage {
                from: Mailbox {
                    name: Some(tenant.name.clone()),
                    email: tenant.from_email.clone(),
                },
                to: Mailbox {
                    name: None,
                    email: to.as_str().to_owned(),
                },
                reply_to: None,
                subject: format!("cartback test email for {}", tenant.name),
                html: "<p>This is a test from cartback: your email provider works.</p>".to_owned(),
                text: "This is a test from cartback: your email provider works.".to_owned(),
                headers: Vec::new(),
                idempotency_key: cartback_store::ids::random_id("test_", 16),
                tags: vec!["cartback-test".to_owned()],
            };
            let receipt = provider.send(&message).await?;
            println!(
                "delivered through {} ({:?})",
                provider.kind(),
                receipt.provider_message_id
            );
        }
    }
    Ok(())
}

fn master(common: &crate::options::CommonArgs, command: MasterKeyCommand) -> anyhow::Result<()> {
    match command {
        MasterKeyCommand::GenerateMaster => {
            let key = MasterKeys::generate();
            let id = MasterKeys::from_config(Some(&key), None)?
                .current_id()
                .unwrap_or_default()
                .to_owned();
            // The key alone on standard output, so `$(cartback keys generate-master)`
            // captures it; the id, which rotate-master and sealed values name, beside it.
            println!("{key}");
            eprintln!("master key id {id} (keep the key secret; the id is safe to write down)");
            Ok(())
        }
        MasterKeyCommand::RotateMaster => {
            let keys = run::master_keys(common)?;
            if !keys.is_configured() {
                bail!(
                    "set the new key in CARTBACK_MASTER_KEY and the old one in CARTBACK_PREVIOUS_MASTER_KEYS"
                );
            }
            let store = run::open_store(common, None)?;
            let mut conn = store.conn()?;
            let providers = reseal_all(&mut conn, &keys)?;
            let others = cartback_store::webhooks::reseal_secrets(&mut conn, &keys)?;
            println!(
                "re-sealed {providers} provider credential(s) and {others} webhook endpoint or Stripe secret(s) under master key {}",
                keys.current_id().unwrap_or_default()
            );
            Ok(())
        }
    }
}

async fn dev(
    store: Store,
    args: DevArgs,
    master_keys: std::sync::Arc<MasterKeys>,
) -> anyhow::Result<()> {
    let delay = TimeDelta::from_std(args.demo_delay).context("--demo-delay out of range")?;
    // Where this process listens, unless told otherwise: every link printed
    // here and put into emails then opens in the developer's browser.
    let url = crate::public_url::for_dev(args.worker.public_url.as_deref(), args.api.bind)?;
    let existing = list_tenants(&mut *store.conn()?)?
        .into_iter()
        .find(|t| t.name == DEMO_TENANT);
    let (tenant, secret) = match existing {
        // Keys are stored hashed: a restarted dev session gets a fresh secret key.
        Some(tenant) => {
            let key = create_key(
                &mut *store.conn()?,
                &tenant.id,
                KeyKind::Secret,
                Some("dev"),
                Utc::now().naive_utc(),
            )?;
            (tenant, key.secret)
        }
        None => {
            let (tenant, secret, _) = create_tenant_with_keys(
                &store,
                TenantSpec {
                    name: DEMO_TENANT,
                    from: "shop@example.com",
                    from_name: None,
                    recovery_url: Some(format!("{url}/cart")),
                    policy: RecoveryPolicy::with_single_delay(delay),
                },
            )?;
            (tenant, secret)
        }
    };
    let provider = run::build_provider(&args.email)?;
    let (_, sign_in_link) = cartback_dashboard::accounts::invite(
        &mut *store.conn()?,
        &tenant.id,
        DEMO_USER,
        cartback_domain::UserRole::Owner,
        &url,
        Utc::now().naive_utc(),
    )
    .context("the demo user")?;
    let server = run::api_server(
        store.clone(),
        &args.api,
        &url,
        &args.outbound,
        master_keys.clone(),
    )?;
    let handle = server.handle();
    let api = tokio::spawn(server);
    let policy = tenant.recovery_policy()?;
    let first_delay = policy.abandon_delay();
    let banner = format!(
        "\ncartback dev is running: api on {url}, worker in this process\n\
         \x20 tenant      {} ({})\n\
         \x20 secret key  {secret}\n\
         \x20 emails go to {} (provider: {:?})\n\
         \x20 recovery email after {} s of inactivity\n\
         \x20 dashboard   {sign_in_link}\n\
         \x20             (signs in {DEMO_USER} once; works for 24 hours)\n\n\
         Try it:\n\
         \x20 curl -s {url}/api/v1/track -H 'X-API-Key: {secret}' -H 'Content-Type: application/json' \\\n\
         \x20   -d '{{\"event\":\"CART_UPDATE\",\"sessionId\":\"demo-session-1\",\"items\":[{{\"id\":\"sku_1\",\"name\":\"Blue mug\",\"price\":12.50,\"quantity\":2}}],\"total\":25.00,\"currency\":\"USD\",\"customerEmail\":\"shopper@example.com\",\"customerName\":\"Sam\"}}'\n\n",
        tenant.id,
        tenant.name,
        args.email.outbox_dir.display(),
        args.email.email_provider,
        first_delay.num_milliseconds() as f64 / 1000.0,
    );
    // One write, and a closed stdout (say, piped into `head`) must not stop the service.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    let worker = cartback_worker::Worker::new(
        store,
        provider,
        run::worker_config(&args.worker, &url, &args.outbound),
    )
    .with_master_keys(master_keys);
    worker.run(run::shutdown_signal()).await?;
    handle.stop(true).await;
    api.await??;
    Ok(())
}
