//! Assembling a node: storage, workflows, providers, the accept writer, the
//! worker pool and the HTTP server, per `--role`.

use crate::api::{self, AppState};
use crate::config::Config;
use crate::engine::outbound::OutboundSettings;
use crate::engine::{Acceptor, Routing, TenantRoutes, Worker};
use crate::workflow::Registry;
use anyhow::Context;
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
    let (crypto, _) = crate::master_key::load(config)?;
    let store = Store::connect(&config.database_url, crypto)
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    let workflows = Arc::new(
        Registry::load(&config.workflows_dir, &config.templates_dir)
            .context("loading workflows")?,
    );
    install_stored(&store, &workflows).await?;
    Ok((store, workflows))
}

async fn install_stored(store: &Store, workflows: &Registry) -> anyhow::Result<()> {
    for row in store.all_workflows().await? {
        let doc = match serde_json::from_str(&row.document) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(tenant = %row.tenant_id, workflow = %row.name, error = %e, "stored workflow is unreadable; skipped");
                continue;
            }
        };
        match workflows.compile(doc) {
            Ok(c) => {
                workflows.install(&row.tenant_id, c);
            }
            Err(e) => {
                tracing::error!(tenant = %row.tenant_id, workflow = %row.name, error = %e, "stored workflow is invalid; skipped")
            }
        }
    }
    Ok(())
}

impl Node {
    pub async fn start(config: &Config, role: Role) -> anyhow::Result<Node> {
        let (store, workflows) = open(config).await?;
        if let Ok((_, source)) = crate::master_key::load(config) {
            crate::master_key::spawn_reloader(store.crypto().clone(), &source);
        }
        let wake = Arc::new(Notify::new());
        let routing = Arc::new(Routing::from_config(config).context("configuring providers")?);
        let routes = Arc::new(TenantRoutes::new(
            config.clone(),
            routing.clone(),
            store.clone(),
        ));
        let limits = crate::engine::plan::Limits {
            sms_daily_cap: config.delivery.sms_daily_cap,
        };
        let acceptor =
            (role != Role::Worker).then(|| Acceptor::spawn(store.clone(), wake.clone(), limits));
        let outbound = Arc::new(OutboundSettings::from_config(
            config,
            store.crypto().clone(),
            &routing,
        ));
        let worker = (role != Role::Api).then(|| {
            Worker {
                store: store.clone(),
                routes: routes.clone(),
                workflows: workflows.clone(),
                cfg: config.delivery.clone(),
                outbound: outbound.clone(),
                wake: wake.clone(),
            }
            .spawn()
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
            }),
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
        let (s, w) = (store.clone(), workflows.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if let Err(e) = install_stored(&s, &w).await {
                    tracing::warn!(error = %e, "refreshing workflows failed");
                }
            }
        });
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
