//! The load generator: each virtual client owns one keep-alive HTTP/1
//! connection and posts events back to back (closed loop) or on a fixed
//! schedule (open loop, for latency at a steady rate).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One client connection.
pub struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    pub async fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            sender,
            host: addr.to_string(),
        })
    }

    /// POSTs `body` to `path`; returns the status and the answer.
    pub async fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        self.send(hyper::Method::POST, path, headers, body).await
    }

    /// PUTs `body` to `path`; returns the status and the answer.
    pub async fn put(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        self.send(hyper::Method::PUT, path, headers, body).await
    }

    async fn send(
        &mut self,
        method: hyper::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        self.sender.ready().await?;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.sender.send_request(req.body(Full::new(body))?).await?;
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

/// What a client posts, given a sequence number.
pub type MakeBody = Arc<dyn Fn(u64) -> Bytes + Send + Sync>;

pub struct Target {
    pub addr: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// Posts as fast as `clients` connections allow for `duration`; returns the
/// number of accepted (2xx) answers and of errors.
pub async fn closed_loop(
    target: &Target,
    clients: usize,
    duration: Duration,
    make: MakeBody,
) -> anyhow::Result<(u64, u64)> {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let seq = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut conn = Conn::open(&target.addr).await?;
        let (ok, failed, seq, stop, make) = (
            ok.clone(),
            failed.clone(),
            seq.clone(),
            stop.clone(),
            make.clone(),
        );
        let path = target.path.clone();
        let headers = target.headers.clone();
        tasks.push(tokio::spawn(async move {
            let hdrs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            while !stop.load(Ordering::Relaxed) {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                match conn.post(&path, &hdrs, make(n)).await {
                    Ok((s, _)) if (200..300).contains(&s) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    Ok((ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed)))
}

/// Posts `count` bodies as fast as possible; for filling a queue.
pub async fn post_count(
    target: &Target,
    clients: usize,
    count: u64,
    make: MakeBody,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> anyhow::Result<u64> {
    let ok = Arc::new(AtomicU64::new(0));
    let seq = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(progress);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut conn = Conn::open(&target.addr).await?;
        let (ok, seq, make, progress) = (ok.clone(), seq.clone(), make.clone(), progress.clone());
        let path = target.path.clone();
        let headers = target.headers.clone();
        tasks.push(tokio::spawn(async move {
            let hdrs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            loop {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    break;
                }
                if let Ok((s, _)) = conn.post(&path, &hdrs, make(n)).await {
                    if (200..300).contains(&s) {
                        let done = ok.fetch_add(1, Ordering::Relaxed) + 1;
                        if done % 10_000 == 0 {
                            progress(done);
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(ok.load(Ordering::Relaxed))
}

/// Sends `rate` requests per second for `duration` on a fixed schedule (a
/// late answer does not delay the next send). Returns, per request, the
/// instant it was due, the instant its answer came and the answer body
/// (to learn the ids).
pub async fn open_loop(
    target: &Target,
    clients: usize,
    rate: u64,
    duration: Duration,
    make: MakeBody,
) -> anyhow::Result<Vec<(Instant, Instant, Bytes)>> {
    let total = rate * duration.as_secs();
    let (tx, rx) = async_channel(clients * 4);
    let results = Arc::new(std::sync::Mutex::new(Vec::with_capacity(total as usize)));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut conn = Conn::open(&target.addr).await?;
        let rx = rx.clone();
        let results = results.clone();
        let path = target.path.clone();
        let headers = target.headers.clone();
        tasks.push(tokio::spawn(async move {
            let hdrs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            loop {
                let next = { rx.lock().await.recv().await };
                let Some((due, body)) = next else { break };
                if let Ok((s, answer)) = conn.post(&path, &hdrs, body).await {
                    if (200..300).contains(&s) {
                        if let Ok(mut r) = results.lock() {
                            r.push((due, Instant::now(), answer));
                        }
                    }
                }
            }
        }));
    }
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    for n in 0..total {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        if tx.send((due, make(n))).await.is_err() {
            break;
        }
    }
    drop(tx);
    for t in tasks {
        let _ = t.await;
    }
    let out = std::mem::take(&mut *results.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok(out)
}

type Job = (Instant, Bytes);

/// A multi-consumer queue from tokio's mpsc and a mutex (no extra crate).
fn async_channel(
    cap: usize,
) -> (
    tokio::sync::mpsc::Sender<Job>,
    Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Job>>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(cap);
    (tx, Arc::new(tokio::sync::Mutex::new(rx)))
}
