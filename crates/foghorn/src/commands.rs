//! The short CLI commands: migrate, keys, dlq, send.

use crate::api::auth::{new_key, Scope};
use crate::api::events::{accept_event, EventRequest};
use crate::cli::{DlqCommand, KeysCommand, SendArgs};
use crate::config::Config;
use crate::engine::Acceptor;
use anyhow::{bail, Context};
use foghorn_store::{Audit, NotificationFilter};
use std::sync::Arc;

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = foghorn_store::Store::connect(&config.database_url)
        .await
        .context("opening the database")?;
    let applied = store.migrate().await?;
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
    let (store, _) = crate::app::open(config).await?;
    match cmd {
        KeysCommand::Create { scopes, tenant } => {
            if !store.tenant_exists(&tenant).await? {
                bail!("no tenant `{tenant}`");
            }
            let scopes: Vec<Scope> = scopes.iter().filter_map(|s| Scope::parse(s)).collect();
            let (secret, row) = new_key(&tenant, &scopes);
            store
                .insert_api_key(&row, &Audit::new("cli", "key.create", &row.id))
                .await?;
            println!(
                "created key {} for tenant {tenant} with scopes: {}",
                row.id, row.scopes
            );
            println!("store it now; it is not shown again:");
            println!("{secret}");
        }
    }
    store.close().await;
    Ok(())
}

pub async fn dlq(config: &Config, cmd: DlqCommand) -> anyhow::Result<()> {
    let (store, _) = crate::app::open(config).await?;
    let now = chrono::Utc::now().timestamp_millis();
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
                    .map(|n| crate::api::notifications::view(n, None))
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
        to: args
            .to
            .into_iter()
            .map(crate::api::events::RecipientInput::Id)
            .collect(),
        data: Some(data),
        send_at,
        priority: None,
    };
    let acceptor = Acceptor::spawn(store.clone(), Arc::new(tokio::sync::Notify::new()));
    let result = accept_event(&workflows, &acceptor, &args.tenant, req, None).await;
    store.close().await;
    match result {
        Ok((status, body)) => {
            let repeat = if status.as_u16() == 200 {
                " (repeat: the first answer)"
            } else {
                ""
            };
            eprintln!("accepted{repeat}");
            println!("{body}");
            Ok(())
        }
        Err(e) => bail!("{}: {}", e.title, e.detail),
    }
}
