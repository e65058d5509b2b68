//! Assembling a node: storage, workflows, providers, the accept writer, the
//! worker pool and the HTTP server, per `--role`.

use crate::api::{self, AppState};
use crate::config::Config;
use crate::engine::outbound::OutboundSettings;
use crate::engine::{Acceptor, Handoff, Routing, TenantRoutes, Worker};
use crate::workflow::Registry;
use anyhow::Context;
use foghorn_core::Channel;
use foghorn_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Accepts events and serves the API; sends nothing.
    Api,
    /// Sends; accepts no events (health and read endpoints still answer).
    Worker,
    /// Both.
    All,
}

/// A running node.
pub struct Node {
    pub addr: SocketAddr,
    pub store: Store,
    server: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
    worker: Option<crate::engine::WorkerHandle>,
}

/// Opens and migrates the database, and loads every workflow.
pub async fn open(config: &Config) -> anyhow::Result<(Store, Arc<Registry>)> {
    open_with(config)
        .await
        .map(|(store, workflows, _)| (store, workflows))
}

/// [`open`], also telling where the key ring came from (for following it).
async fn open_with(
    config: &Config,
) -> anyhow::Result<(Store, Arc<Registry>, crate::master_key::Source)> {
    let loaded = crate::master_key::load(config)?;
    let store = Store::connect(&config.database_url, loaded.crypto.clone())
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    loaded.settle(&store).await?;
    let workflows = Arc::new(
        Registry::load(
            &config.workflows_dir,
            &config.templates_dir,
            crate::workflow::Source::Tenant {
                allow_private: config.security.allow_private_targets_for_tenants,
            },
            crate::config::operator_references(),
        )
        .context("loading workflows")?,
    );
    install_stored(&store, &workflows).await?;
    Ok((store, workflows, loaded.source))
}

async fn install_stored(store: &Store, workflows: &Registry) -> anyhow::Result<()> {
    for row in store.all_workflows().await? {
        if let Err(e) = workflows.apply_row(&row) {
            tracing::error!(tenant = %row.tenant_id, workflow = %row.name, error = %e, "stored workflow is invalid; skipped");
        }
    }
    Ok(())
}

/// How far back a node looks for workflow changes beyond the newest it has
/// seen: room for other nodes' clocks and for transactions that committed
/// late with an earlier timestamp.
const WORKFLOW_CHANGE_WINDOW_MS: i64 = 10_000;

/// Follows workflow changes made through other nodes, every second; a
/// worker that meets a workflow it has not seen yet also loads it at once
/// (see `engine::deliver`), so this only bounds how long an update takes.
fn follow_workflows(store: Store, workflows: Arc<Registry>) {
    tokio::spawn(async move {
        let mut newest = chrono::Utc::now().timestamp_millis();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match store
                .workflows_changed_since(newest - WORKFLOW_CHANGE_WINDOW_MS)
                .await
            {
                Ok(rows) => {
                    for row in rows {
                        newest = newest.max(row.updated_at);
                        if let Err(e) = workflows.apply_row(&row) {
                            tracing::error!(tenant = %row.tenant_id, workflow = %row.name, error = %e, "stored workflow is invalid; skipped");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "refreshing workflows failed"),
            }
        }
    });
}

/// The name of the built-in webhook provider.
pub const DEFAULT_WEBHOOK: &str = "webhook";

/// Webhook steps are delivered even when the operator configured no
/// webhook provider: a built-in one signs them (Standard Webhooks) with a
/// secret derived from the master key, the same on every node, printed at
/// start so the receiver can be set up. It serves the webhook channel only.
fn with_default_webhook(config: &Config, crypto: &foghorn_store::crypto::Crypto) -> Config {
    let has_webhook = config.providers.iter().any(|(name, e)| {
        e.kind.as_deref().unwrap_or(name) == "webhook"
            && e.channels
                .as_ref()
                .is_none_or(|c| c.contains(&Channel::Webhook))
    });
    if has_webhook || config.providers.contains_key(DEFAULT_WEBHOOK) {
        return config.clone();
    }
    let Some(tag) = crypto.sign("default-webhook-secret", b"whsec") else {
        return config.clone();
    };
    use base64::Engine;
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    );
    eprintln!(
        "foghorn: webhook steps are signed with {secret} (derived from the master key; set \
         [providers.webhook] kind = \"webhook\" and secret = \"whsec_...\" to choose your own)"
    );
    let mut settings = toml::Table::new();
    settings.insert("secret".into(), toml::Value::String(secret));
    let mut out = config.clone();
    out.providers.insert(
        DEFAULT_WEBHOOK.into(),
        crate::config::ProviderEntry {
            kind: Some("webhook".into()),
            rate_per_second: None,
            channels: Some(vec![Channel::Webhook]),
            settings,
        },
    );
    out
}

impl Node {
    pub async fn start(config: &Config, role: Role) -> anyhow::Result<Node> {
        let (store, workflows, source) = open_with(config).await?;
        crate::master_key::spawn_reloader(store.crypto().clone(), &source);
        let wake = Arc::new(Notify::new());
        let config = &with_default_webhook(config, store.crypto());
        let catalog =
            crate::catalog::Providers::for_config(config).context("configuring providers")?;
        let routing =
            Arc::new(Routing::from_config(config, catalog).context("configuring providers")?);
        let routes = Arc::new(TenantRoutes::new(
            config.clone(),
            routing.clone(),
            store.clone(),
        ));
        let limits = crate::engine::plan::Limits {
            sms_daily_cap: config.delivery.sms_daily_cap,
        };
        // A node that accepts and sends hands its fresh jobs straight over.
        let (handoff, fresh) = if role == Role::All {
            let (h, f) = Handoff::new(&config.delivery);
            (Some(h), Some(f))
        } else {
            (None, None)
        };
        let acceptor = (role != Role::Worker)
            .then(|| Acceptor::spawn(store.clone(), wake.clone(), limits, handoff));
        let outbound = Arc::new(OutboundSettings::from_config(
            config,
            store.crypto().clone(),
            &routing,
        ));
        let worker = (role != Role::Api).then(|| {
            Worker {
                fresh,
                store: store.clone(),
                routes: routes.clone(),
                workflows: workflows.clone(),
                cfg: config.delivery.clone(),
                outbound: outbound.clone(),
                wake: wake.clone(),
            }
            .spawn()
        });
        let team = Arc::new(foghorn_engine::team::Team {
            store: store.clone(),
            routes: routes.clone(),
            workflows: workflows.clone(),
        });
        let state = Arc::new(AppState {
            store: store.clone(),
            acceptor,
            workflows: workflows.clone(),
            keys: Default::default(),
            key_limiter: crate::api::auth::key_limiter(
                config.security.key_rate_per_second,
                config.security.key_burst,
            ),
            metrics: crate::telemetry::init_metrics(),
            inbound: Arc::new(crate::inbound::Inbound {
                store: store.clone(),
                routes: routes.clone(),
                wake: wake.clone(),
                team: team.clone(),
                media_links: crate::inbound::whatsapp::media_links(
                    store.crypto().clone(),
                    config.public_url.as_deref(),
                ),
                preferences: outbound.unsubscribe.clone(),
            }),
            calls: Arc::new(foghorn_engine::voice::Calls {
                store: store.clone(),
                routes: routes.clone(),
                team: team.clone(),
            }),
            team,
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            max_body_bytes: config.security.max_body_bytes,
            wake,
            routes,
            config: config.clone(),
            routing: routing.clone(),
            outbound,
        });
        crate::inbound::Inbound::spawn_pruner(store.clone());
        foghorn_engine::retention::spawn(store.clone(), config.retention.clone());
        foghorn_engine::team::spawn_catalog_indexer(store.clone());
        foghorn_engine::overview_rollup::spawn(store.clone());
        let listener = tokio::net::TcpListener::bind(config.listen_addr())
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let app = api::router(state, config.security.max_body_bytes);
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop_rx.changed().await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        // Other nodes may change workflows through the API; pick those up.
        follow_workflows(store.clone(), workflows.clone());
        Ok(Node {
            addr,
            store,
            server,
            stop,
            worker,
        })
    }

    /// Stops accepting requests, lets in-flight sends finish and be recorded.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server).await;
        if let Some(w) = self.worker {
            let _ = tokio::time::timeout(Duration::from_secs(30), w.shutdown()).await;
        }
        self.store.close().await;
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
