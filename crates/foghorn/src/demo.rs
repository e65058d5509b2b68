//! `foghorn demo`: a node on the embedded default with sandbox providers and
//! the NaviDocs pack; it creates a key, fires the sample events through its
//! own HTTP API and shows them arriving in the sandbox.

use crate::app::{shutdown_signal, Node, Role};
use crate::cli::DemoArgs;
use crate::config::Config;
use crate::keys::{new_key, Scope};
use anyhow::Context;
use foghorn_core::TenantId;
use serde_json::Value;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    // The sandbox captures everything; webhook-style targets on this machine are fine.
    config.security.allow_private_targets = true;
    if let Some(l) = args.listen {
        config.listen = crate::config::parse_listen(&l)
            .map_err(|m| anyhow::anyhow!("--listen {m}"))?
            .to_string();
    }
    if tokio::net::TcpListener::bind(&config.listen).await.is_err() {
        println!("{} is taken; using a free port instead", config.listen);
        config.listen = "127.0.0.1:0".into();
    }
    let node = Node::start(&config, Role::All).await?;
    let (secret, row) = new_key(&TenantId::default_tenant(), &[Scope::Admin]);
    node.store
        .insert_api_key(
            &row,
            &foghorn_store::Audit::new("demo", "key.create", &row.id),
        )
        .await?;
    let base = format!("http://{}", node.addr);
    println!(
        "Foghorn demo: ready in {} ms ({}, {})",
        started.elapsed().as_millis(),
        node.store.backend_name(),
        config.database_url
    );
    println!("  API      {base}  (OpenAPI at {base}/openapi.json)");
    println!("  API key  {secret}");
    let link =
        crate::ui::session::link_token(&node.store, &TenantId::default_tenant(), &row.id).await?;
    println!("  Dashboard  {base}/ui/signin/{link}  (signs you in once, for 15 minutes)");
    println!();

    let samples: Value =
        serde_json::from_str(crate::workflow::samples_json()).context("the built-in samples")?;
    let http = reqwest::Client::new();
    let auth = format!("Bearer {secret}");
    for s in samples["subscribers"].as_array().into_iter().flatten() {
        let id = s["id"].as_str().unwrap_or_default();
        let mut body = s.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("id");
        }
        let res = http
            .put(format!("{base}/v1/subscribers/{id}"))
            .header("authorization", &auth)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            res.status().is_success(),
            "creating subscriber {id}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    // Only this run's notifications: a folder that has run the demo before
    // keeps the earlier runs' messages in its sandbox.
    let mut ours: HashSet<String> = HashSet::new();
    let events = samples["events"].as_array().cloned().unwrap_or_default();
    println!("Firing {} NaviDocs sample events:", events.len());
    for e in &events {
        let res = http
            .post(format!("{base}/v1/events"))
            .header("authorization", &auth)
            .json(e)
            .send()
            .await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "event {}: {body}", e["name"]);
        let notes = body["notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        ours.extend(
            notes
                .iter()
                .filter(|n| n["status"] == "queued")
                .filter_map(|n| n["id"].as_str().map(String::from)),
        );
        let channels: Vec<String> = notes
            .iter()
            .map(|n| {
                format!(
                    "{} {}",
                    n["channel"].as_str().unwrap_or("?"),
                    n["status"].as_str().unwrap_or("?")
                )
            })
            .collect();
        println!(
            "  {:20} -> {}",
            e["name"].as_str().unwrap_or("?"),
            channels.join(", ")
        );
    }
    println!();

    let expected = ours.len();
    // `\r` progress is for a person watching a terminal; a log or a pipe
    // gets only the result.
    let live = std::io::stderr().is_terminal();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut inbox: Vec<Value> = Vec::new();
    while Instant::now() < deadline {
        let res = http
            .get(format!("{base}/v1/sandbox/messages?limit=1000"))
            .header("authorization", &auth)
            .send()
            .await?;
        let body: Value = res.json().await.unwrap_or(Value::Null);
        inbox = body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| {
                m["notification_id"]
                    .as_str()
                    .is_some_and(|id| ours.contains(id))
            })
            .cloned()
            .collect();
        if live {
            eprint!(
                "\rdelivered to the sandbox: {}/{expected}",
                inbox.len().min(expected)
            );
        }
        if inbox.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if live {
        eprintln!();
    }
    println!("Sandbox inbox ({} messages, newest last):", inbox.len());
    for m in inbox.iter().rev() {
        let c = &m["content"];
        let summary = c["subject"]
            .as_str()
            .or_else(|| c["text"].as_str())
            .map(String::from)
            .unwrap_or_else(|| c["json"].to_string());
        let to = m["to"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("(team destination)");
        println!(
            "  [{:7}] {:28} {}",
            m["channel"].as_str().unwrap_or("?"),
            to,
            truncate(&summary, 90)
        );
    }
    println!();
    println!("Try:  curl -H 'Authorization: Bearer {secret}' {base}/v1/notifications");
    println!("      curl -H 'Authorization: Bearer {secret}' {base}/v1/sandbox/messages");
    anyhow::ensure!(
        inbox.len() >= expected,
        "only {} of {expected} messages arrived in time",
        inbox.len()
    );
    if !args.exit {
        println!("Serving until Ctrl-C.");
        shutdown_signal().await;
    }
    node.shutdown().await;
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() <= n {
        line.to_string()
    } else {
        format!("{}…", line.chars().take(n).collect::<String>())
    }
}
