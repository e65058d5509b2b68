//! The bench's loopback provider: answers 204 and notes when each delivery
//! id arrived (`webhook-id` from Foghorn, `x-delivery-id` from the seed
//! baseline), like the nginx sink of the side-by-side kit.

use axum::http::HeaderMap;
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
pub struct Arrivals {
    pub by_id: HashMap<String, Instant>,
    pub total: u64,
}

#[derive(Clone)]
pub struct BenchSink {
    pub url: String,
    pub arrivals: Arc<Mutex<Arrivals>>,
}

impl BenchSink {
    pub async fn start() -> anyhow::Result<BenchSink> {
        let arrivals = Arc::new(Mutex::new(Arrivals::default()));
        let a = arrivals.clone();
        let app = Router::new().fallback(move |headers: HeaderMap| {
            let a = a.clone();
            async move {
                let now = Instant::now();
                let id = headers
                    .get("webhook-id")
                    .or_else(|| headers.get("x-delivery-id"))
                    .and_then(|v| v.to_str().ok())
                    .map(String::from);
                if let Ok(mut a) = a.lock() {
                    a.total += 1;
                    if let Some(id) = id {
                        a.by_id.entry(id).or_insert(now);
                    }
                }
                axum::http::StatusCode::NO_CONTENT
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(BenchSink { url, arrivals })
    }

    pub fn reset(&self) {
        if let Ok(mut a) = self.arrivals.lock() {
            *a = Arrivals::default();
        }
    }

    pub fn total(&self) -> u64 {
        self.arrivals.lock().map(|a| a.total).unwrap_or(0)
    }

    pub fn arrival(&self, id: &str) -> Option<Instant> {
        self.arrivals
            .lock()
            .ok()
            .and_then(|a| a.by_id.get(id).copied())
    }
}
