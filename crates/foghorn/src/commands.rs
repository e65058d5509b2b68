//! The short CLI commands: migrate, keys, dlq, send, proof.

use crate::cli::{
    AuditCommand, BenchArgs, DiscordCommand, DlqCommand, KeysCommand, ProofArgs, ProofCommand,
    ProofFormat, SendArgs, SubscribersCommand, TenantsCommand,
};
use crate::config::Config;
use crate::engine::Acceptor;
use crate::keys::{new_key, Scope};
use crate::views::rfc3339;
use anyhow::{bail, Context};
use foghorn_core::TenantId;
use foghorn_engine::intake::{self, Accepted, EventRequest, RecipientInput};
use foghorn_store::{Audit, NotificationFilter, TenantRow, OPERATOR_TENANT};
use std::sync::Arc;

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let loaded = crate::master_key::load(config)?;
    let store = foghorn_store::Store::connect(&config.database_url, loaded.crypto.clone())
        .await
        .context("opening the database")?;
    let applied = store.migrate().await?;
    loaded.settle(&store).await?;
    let version = store.schema_version().await?;
    if applied.is_empty() {
        println!(
            "schema is up to date (version {version}, {})",
            store.backend_name()
        );
    } else {
        println!(
            "applied migrations {applied:?}; schema version {version} ({})",
            store.backend_name()
        );
    }
    store.close().await;
    Ok(())
}

pub async fn keys(config: &Config, cmd: KeysCommand) -> anyhow::Result<()> {
    if let KeysCommand::RotateMaster = cmd {
        return crate::master_key::rotate(config).await;
    }
    let (store, _) = crate::app::open(config).await?;
    let now = foghorn_core::clock::now_ms();
    match cmd {
        KeysCommand::Create {
            scopes,
            tenant,
            name,
        } => {
            let operator = scopes.iter().any(|s| s == "operator");
            let tenant_id = if operator {
                if scopes.len() > 1 {
                    bail!("an operator key has no other scope");
                }
                TenantId::from(OPERATOR_TENANT)
            } else {
                resolve_tenant(&store, &tenant).await?
            };
            let scopes: Vec<Scope> = scopes.iter().filter_map(|s| Scope::parse(s)).collect();
            let (secret, mut row) = new_key(&tenant_id, &scopes);
            row.name = name;
            store
                .insert_api_key(&row, &Audit::new("cli", "key.create", &row.id))
                .await?;
            let owner = if operator {
                "operators".to_string()
            } else {
                format!("tenant {tenant_id}")
            };
            println!(
                "created key {} for {owner} with scopes: {}",
                row.id, row.scopes
            );
            println!("store it now; it is not shown again:");
            println!("{secret}");
        }
        KeysCommand::List {
            tenant,
            operator,
            json,
        } => {
            let (tenant_id, owner) = if operator {
                (TenantId::from(OPERATOR_TENANT), "operators".to_string())
            } else {
                let id = resolve_tenant(&store, &tenant).await?;
                let owner = format!("tenant {id}");
                (id, owner)
            };
            let keys = store.api_keys(&tenant_id).await?;
            if json {
                let v: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        serde_json::json!({"id": k.id, "prefix": k.prefix, "name": k.name, "scopes": k.scopes,
                        "created_at": rfc3339(k.created_at), "last_used_at": k.last_used_at.map(rfc3339),
                        "revoked_at": k.revoked_at.map(rfc3339)})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if keys.is_empty() {
                println!("no keys for {owner}");
            } else {
                let rows = keys.into_iter().map(|k| {
                    let state = if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "live"
                    };
                    let used = k
                        .last_used_at
                        .map(rfc3339)
                        .unwrap_or_else(|| "never".into());
                    [
                        k.id,
                        format!("{}…", k.prefix),
                        state.to_string(),
                        k.scopes,
                        used,
                        k.name.unwrap_or_default(),
                    ]
                });
                print_table(
                    ["ID", "PREFIX", "STATE", "SCOPES", "LAST USED", "NAME"],
                    rows.collect(),
                );
            }
        }
        KeysCommand::Revoke { id } => {
            if !store
                .revoke_api_key(&id, now, &Audit::new("cli", "key.revoke", &id))
                .await?
            {
                bail!("no live key `{id}`");
            }
            println!("revoked {id}");
        }
        KeysCommand::RotateMaster => {}
    }
    store.close().await;
    Ok(())
}

/// A tenant named by id or by name.
async fn resolve_tenant(store: &foghorn_store::Store, tenant: &str) -> anyhow::Result<TenantId> {
    let id = TenantId::from(tenant);
    if store.tenant_exists(&id).await? {
        return Ok(id);
    }
    match store
        .tenants()
        .await?
        .into_iter()
        .find(|t| t.name == tenant)
    {
        Some(t) => Ok(t.id),
        None => bail!("no tenant `{tenant}` (create it with `foghorn tenants create`)"),
    }
}

/// `Riviera Yachts` → `riviera-yachts`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(63).collect()
}

pub fn valid_tenant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

pub async fn tenants(config: &Config, cmd: TenantsCommand) -> anyhow::Result<()> {
    let (store, _) = crate::app::open(config).await?;
    let now = foghorn_core::clock::now_ms();
    match cmd {
        TenantsCommand::Create { name, id } => {
            let id = id.unwrap_or_else(|| slug(&name));
            if !valid_tenant_id(&id) {
                bail!(
                    "tenant id `{id}` must be 1-63 characters of a-z, 0-9, '-' or '_' (pass --id)"
                );
            }
            let id = TenantId::from(id);
            if store.tenant_exists(&id).await? {
                bail!("tenant `{id}` exists already");
            }
            let row = TenantRow {
                id: id.clone(),
                name,
                settings: "{}".into(),
                created_at: now,
                updated_at: now,
            };
            store
                .put_tenant(&row, &Audit::new("cli", "tenant.create", id.as_str()))
                .await?;
            println!("{id}");
        }
        TenantsCommand::List { json } => {
            let all = store.tenants().await?;
            if json {
                let v: Vec<_> = all.iter().map(|t| serde_json::json!({"id": t.id, "name": t.name, "created_at": rfc3339(t.created_at)})).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for t in all {
                    println!("{:24} {}", t.id, t.name);
                }
            }
        }
    }
    store.close().await;
    Ok(())
}

pub async fn audit(config: &Config, cmd: AuditCommand) -> anyhow::Result<()> {
    let (store, _) = crate::app::open(config).await?;
    let AuditCommand::Verify { json } = cmd;
    let result = store.verify_audit().await?;
    store.close().await;
    match result {
        Ok(n) => {
            if json {
                println!("{}", serde_json::json!({"ok": true, "rows": n}));
            } else {
                println!("audit trail verified: {n} rows, chain intact");
            }
            Ok(())
        }
        Err(b) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "first_bad_row": b.seq, "reason": b.reason})
                );
            }
            bail!("audit trail broken at row {}: {}", b.seq, b.reason)
        }
    }
}

pub async fn discord(config: &Config, cmd: DiscordCommand) -> anyhow::Result<()> {
    let DiscordCommand::RegisterCommands { guild, provider } = cmd;
    let accounts: Vec<_> = config
        .providers
        .iter()
        .filter(|(name, e)| e.kind.as_deref().unwrap_or(name) == "discord")
        .filter(|(name, _)| provider.as_deref().is_none_or(|p| p == name.as_str()))
        .collect();
    let (name, entry) = match accounts.as_slice() {
        [one] => *one,
        [] => bail!(
            "no Discord account is configured (set DISCORD_BOT_TOKEN and DISCORD_APPLICATION_ID)"
        ),
        _ => bail!("several Discord accounts are configured; name one with --provider"),
    };
    let built = crate::catalog::Providers::for_config(config)?.provider(name, entry)?;
    let foghorn_providers::Provider::Discord(discord) = built else {
        bail!("provider `{name}` is not a Discord account");
    };
    let registered = discord
        .register_commands(guild.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("registering the commands failed: {e}"))?;
    let names: Vec<&str> = registered
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    match &guild {
        Some(g) => println!("registered /{} in server {g}", names.join(", /")),
        None => println!(
            "registered /{} globally (may take up to an hour to appear)",
            names.join(", /")
        ),
    }
    Ok(())
}

pub async fn subscribers(config: &Config, cmd: SubscribersCommand) -> anyhow::Result<()> {
    let (store, _) = crate::app::open(config).await?;
    match cmd {
        SubscribersCommand::Export { id, tenant } => {
            let policy = store.tenant_policy(&tenant).await?;
            let Some(data) = store.personal_data(&tenant, &id).await? else {
                bail!("no subscriber `{id}` in tenant `{tenant}`");
            };
            let doc = crate::gdpr::export(&tenant, data, &policy);
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        SubscribersCommand::Erase { id, tenant, json } => {
            let audit = Audit::new("cli", "subscriber.erase", &id);
            let now = foghorn_core::clock::now_ms();
            let Some(erased) = store.erase_subscriber(&tenant, &id, &audit, now).await? else {
                bail!("no subscriber `{id}` in tenant `{tenant}`");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&erased)?);
            } else {
                println!(
                    "erased subscriber {id}: {} notifications without recipient ({} pending cancelled), {} captured messages deleted, {} consent addresses removed, {} opt-outs kept as suppressions",
                    erased.notifications,
                    erased.cancelled,
                    erased.sandbox_messages,
                    erased.consent_addresses,
                    erased.kept_suppressions
                );
            }
        }
    }
    store.close().await;
    Ok(())
}

pub async fn dlq(config: &Config, cmd: DlqCommand) -> anyhow::Result<()> {
    let (store, _) = crate::app::open(config).await?;
    let now = foghorn_core::clock::now_ms();
    match cmd {
        DlqCommand::List {
            tenant,
            limit,
            json,
        } => {
            let f = NotificationFilter {
                status: Some("dead".into()),
                limit,
                ..Default::default()
            };
            let page = store.list_notifications(&tenant, &f).await?;
            if json {
                let items: Vec<_> = page
                    .items
                    .into_iter()
                    .map(|n| crate::views::view(n, None))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else if page.items.is_empty() {
                println!("the dead-letter queue is empty");
            } else {
                for n in page.items {
                    println!(
                        "{}  {:8}  {:24}  {}",
                        n.id,
                        n.channel,
                        n.workflow,
                        n.status_reason.unwrap_or_default()
                    );
                }
            }
        }
        DlqCommand::Replay { id, all, tenant } => {
            let ids = match (id, all) {
                (Some(id), _) => vec![id],
                (None, _) => {
                    let mut ids = Vec::new();
                    let mut f = NotificationFilter {
                        status: Some("dead".into()),
                        limit: 1000,
                        ..Default::default()
                    };
                    loop {
                        let page = store.list_notifications(&tenant, &f).await?;
                        ids.extend(page.items.into_iter().map(|n| n.id));
                        match page.next {
                            Some(c) => f.before_id = Some(c),
                            None => break,
                        }
                    }
                    ids
                }
            };
            let mut replayed = 0;
            for id in &ids {
                if store
                    .replay_dead(&tenant, id, now, &Audit::new("cli", "dlq.replay", id))
                    .await?
                {
                    replayed += 1;
                } else if !all {
                    bail!("no dead notification `{id}` in tenant {tenant}");
                }
            }
            store.notify_workers().await?;
            println!("replayed {replayed} notification(s)");
        }
    }
    store.close().await;
    Ok(())
}

pub async fn send(config: &Config, args: SendArgs) -> anyhow::Result<()> {
    let (store, workflows) = crate::app::open(config).await?;
    let data: serde_json::Value =
        serde_json::from_str(&args.data).context("--data must be a JSON object")?;
    let send_at = match &args.send_at {
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .context("--send-at must be an RFC 3339 time such as 2026-12-01T09:00:00Z")?
                .with_timezone(&chrono::Utc),
        ),
        None => None,
    };
    let req = EventRequest {
        name: args.name,
        idempotency_key: args.idempotency_key,
        grouping_key: args.grouping_key,
        to: args.to.into_iter().map(RecipientInput::Id).collect(),
        data: Some(data),
        send_at,
        priority: None,
    };
    let limits = crate::engine::plan::Limits {
        sms_daily_cap: config.delivery.sms_daily_cap,
    };
    let acceptor = Acceptor::spawn(
        store.clone(),
        Arc::new(tokio::sync::Notify::new()),
        limits,
        None,
    );
    let result = intake::accept(&workflows, &acceptor, &args.tenant, req, None).await;
    store.close().await;
    let (body, repeat) = match result? {
        Accepted::Created(body) => (body, ""),
        Accepted::Repeat(body) => (body, " (repeat: the first answer)"),
    };
    eprintln!("accepted{repeat}");
    println!("{body}");
    Ok(())
}

/// `foghorn bench`: the load generator is a program of its own
/// (`foghorn-bench`, beside this one), so the product carries none of its
/// dependencies; this runs it on this very binary.
pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let me = std::env::current_exe().context("locating this binary")?;
    let bench = me.with_file_name(format!("foghorn-bench{}", std::env::consts::EXE_SUFFIX));
    if !bench.is_file() {
        bail!(
            "{} is missing: build it with `cargo build --release -p foghorn-bench` (or run `cargo run -p foghorn-bench --release`)",
            bench.display()
        );
    }
    let status = tokio::process::Command::new(&bench)
        .arg("--foghorn")
        .arg(&me)
        .args(&args.args)
        .status()
        .await
        .with_context(|| format!("running {}", bench.display()))?;
    bench_outcome(status)
}

/// Exit 2 is the bench's own word for arguments it refused (it has said
/// which): misuse of `foghorn bench` too, not a failed run.
fn bench_outcome(status: std::process::ExitStatus) -> anyhow::Result<()> {
    match status.code() {
        Some(0) => Ok(()),
        Some(2) => Err(Misuse("foghorn-bench refused its arguments".into()).into()),
        _ => bail!("foghorn-bench exited with {status}"),
    }
}

/// Columns padded to their widest cell, under a header.
fn print_table<const N: usize>(header: [&str; N], rows: Vec<[String; N]>) {
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A command line that names something unusable: exit 2, like clap's own
/// refusals.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Misuse(pub String);

/// `foghorn proof EVENT_ID` (reads the database, appends the export's
/// audit row) and `foghorn proof verify FILE` (reads only the file).
pub async fn proof(config: &Config, args: ProofArgs) -> anyhow::Result<()> {
    use foghorn_engine::proof;
    if let Some(ProofCommand::Verify {
        file,
        public_key,
        json,
    }) = args.command
    {
        if let Some(k) = &public_key {
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::STANDARD.decode(k.trim());
            if raw.map_or(true, |r| r.len() != 32) {
                return Err(Misuse(
                    "--public-key must be the base64 of a 32-byte Ed25519 public key".into(),
                )
                .into());
            }
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        return match proof::verify(&text, public_key.as_deref()) {
            Ok(v) => {
                let t = v.totals;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"ok": true, "event_id": v.event_id, "key_id": v.key_id,
                            "pinned": public_key.is_some(), "owners": v.owners, "audit_seq": v.audit_seq,
                            "totals": {"reached": t.reached, "acknowledged": t.acknowledged, "unreachable": t.unreachable}})
                    );
                } else {
                    println!(
                        "proof verified: event {}, signed by key {}{}; {} owners: {} reached, {} acknowledged, {} unreachable",
                        v.event_id,
                        v.key_id,
                        if public_key.is_some() { " (the pinned key)" } else { "" },
                        v.owners,
                        t.reached,
                        t.acknowledged,
                        t.unreachable
                    );
                }
                Ok(())
            }
            Err(e) => {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"ok": false, "reason": e.to_string()})
                    );
                }
                bail!("{} does not verify: {e}", file.display())
            }
        };
    }
    let Some(event_id) = args.event_id else {
        return Err(Misuse("give an event id, or `verify FILE`".into()).into());
    };
    let (store, _) = crate::app::open(config).await?;
    let now = foghorn_core::clock::now_ms();
    let export = proof::export(&store, &args.tenant, &event_id, "cli", now).await;
    store.close().await;
    let Some(export) = export? else {
        bail!("no event `{event_id}` in tenant {}", args.tenant);
    };
    let bytes = match args.format {
        ProofFormat::Json => export.json.clone().into_bytes(),
        ProofFormat::Html => proof::html::render(&export.proof).into_bytes(),
        ProofFormat::Pdf => proof::pdf::render(&export.proof),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            let t = export.proof.totals;
            let key = export
                .proof
                .signature
                .as_ref()
                .map_or("", |s| s.key_id.as_str());
            eprintln!(
                "proof of {event_id} written to {}: {} owners, {} reached, {} acknowledged, {} unreachable; key {key}",
                path.display(),
                export.proof.owners.len(),
                t.reached,
                t.acknowledged,
                t.unreachable
            );
        }
        None => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            if args.format == ProofFormat::Json {
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn the_bench_refusing_its_arguments_is_misuse_and_a_failed_run_is_not() {
        // Wait statuses: the exit code sits in the second byte.
        let exited = |code: i32| std::process::ExitStatus::from_raw(code << 8);
        assert!(bench_outcome(exited(0)).is_ok());
        let refused = bench_outcome(exited(2)).unwrap_err();
        assert!(refused.downcast_ref::<Misuse>().is_some(), "{refused}");
        let failed = bench_outcome(exited(1)).unwrap_err();
        assert!(failed.downcast_ref::<Misuse>().is_none(), "{failed}");
    }
}
