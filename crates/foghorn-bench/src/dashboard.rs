//! The dashboard with a large history: a database filled to a million
//! notifications (copies of real ones, spread over 30 days), then the time
//! the binary takes to answer the overview and the first page of the
//! notifications list to a signed-in browser, over loopback.

use crate::target;
use anyhow::Context;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Default, Clone, Serialize)]
pub struct Figures {
    pub rows: i64,
    /// Median and slowest of the timed requests, ms.
    pub overview_day_ms: (f64, f64),
    pub overview_30d_ms: (f64, f64),
    pub notifications_page_ms: (f64, f64),
    pub api_overview_day_ms: (f64, f64),
}

const TIMED: usize = 20;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
const THIRTY_DAYS_MS: i64 = 30 * 86_400_000;

/// Signs in through the form; the session cookie.
async fn sign_in(http: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<String> {
    let res = http.get(format!("{base}/ui/login")).send().await?;
    let login = cookie(&res, "foghorn_login").context("no sign-in cookie")?;
    let page = res.text().await?;
    let at = page
        .find("name=\"csrf\" value=\"")
        .context("no form token")?
        + 19;
    let token = &page[at..at + page[at..].find('"').context("form token")?];
    let res = http
        .post(format!("{base}/ui/login"))
        .header("cookie", login)
        .form(&[("csrf", token), ("key", key)])
        .send()
        .await?;
    cookie(&res, "foghorn_session").context("sign-in refused")
}

fn cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// (median, slowest) ms of `TIMED` GETs of `path`, after two untimed.
async fn time(
    http: &reqwest::Client,
    url: &str,
    header: (&str, &str),
) -> anyhow::Result<(f64, f64)> {
    let mut ms = Vec::new();
    for i in 0..TIMED + 2 {
        let started = Instant::now();
        let res = http.get(url).header(header.0, header.1).send().await?;
        anyhow::ensure!(res.status().is_success(), "{url}: {}", res.status());
        let body = res.bytes().await?;
        anyhow::ensure!(!body.is_empty(), "{url}: empty");
        if i >= 2 {
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[ms.len() / 2], ms[ms.len() - 1]))
}

/// The phase: `rows` notifications in the database at `url` (served by a
/// node started from `dir`), then the timings.
pub async fn measure(
    dir: &std::path::Path,
    url: &str,
    rows: i64,
    say: impl Fn(&str),
) -> anyhow::Result<Figures> {
    let key = target::key(dir, url).await?;
    let (server, _) = target::foghorn(dir, url, "all").await?;
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    // A thousand real notifications through the API, delivered.
    for _ in 0..10 {
        let batch: Vec<_> = (0..100)
            .map(|n| {
                let http = http.clone();
                let (base, key) = (base.clone(), key.clone());
                tokio::spawn(async move {
                    http.post(format!("{base}/v1/events"))
                        .bearer_auth(key)
                        .json(&serde_json::json!({"name": "bench.ping", "data": {"n": n}}))
                        .send()
                        .await
                })
            })
            .collect();
        for b in batch {
            b.await??;
        }
    }
    let started = Instant::now();
    loop {
        let res: serde_json::Value = http
            .get(format!("{base}/v1/notifications?status=queued&limit=1"))
            .bearer_auth(&key)
            .send()
            .await?
            .json()
            .await?;
        if res["items"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the thousand did not go out"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let filled = Instant::now();
    let total = foghorn_store::scratch::multiply_notifications(url, rows, THIRTY_DAYS_MS).await?;
    // The server rolls settled hours up every few minutes; a history that
    // arrived at once is rolled up here, as the server would in its next pass.
    let store =
        foghorn_store::Store::connect(url, foghorn_store::crypto::Crypto::ephemeral()).await?;
    let rolled = Instant::now();
    while store.roll_up_overview(now_ms()).await? > 0 {}
    store.close().await;
    say(&format!(
        "  dashboard: {total} notifications in the database ({:.1} s to copy them in, {:.1} s to roll up their settled hours)",
        rolled.duration_since(filled).as_secs_f64(),
        rolled.elapsed().as_secs_f64()
    ));
    let session = sign_in(&http, &base, &key).await?;
    let cookie = ("cookie", session.as_str());
    let bearer = format!("Bearer {key}");
    let figures = Figures {
        rows: total,
        overview_day_ms: time(&http, &format!("{base}/ui/"), cookie).await?,
        overview_30d_ms: time(&http, &format!("{base}/ui/?window=30d"), cookie).await?,
        notifications_page_ms: time(&http, &format!("{base}/ui/notifications"), cookie).await?,
        api_overview_day_ms: time(
            &http,
            &format!("{base}/v1/reports/overview?window=day"),
            ("authorization", &bearer),
        )
        .await?,
    };
    server.stop().await;
    Ok(figures)
}
