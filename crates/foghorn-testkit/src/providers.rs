//! What the email and SMS providers' HTTP APIs answer to a send, as named
//! reply builders, and [`MockProvider`]: the recording server answering
//! like one of them, with an outage switch. Each success answer has the
//! status, body and headers of the real API (see each provider's `api.rs`
//! in foghorn-providers); ids are numbered by the request that made them.

use crate::http::{MockServer, Recorded, Reply};
use serde_json::json;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which API a mock speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mailgun,
    SendGrid,
    Postmark,
    Twilio,
    Vonage,
    /// Messaging v2 and its OAuth 2.0 token endpoint, on one origin.
    Bandwidth,
}

/// Where the Bandwidth mock issues access tokens.
pub const BANDWIDTH_TOKEN_PATH: &str = "/api/v1/oauth2/token";

/// What the Vonage mock states as each part's `message-price`.
pub const VONAGE_PRICE: &str = "0.03330000";

/// The access token the Bandwidth mock issues as its `n`th answer.
pub fn bandwidth_token(n: u64) -> String {
    format!("bw-access-token-{n:06}")
}

/// The success answer of `kind` to request number `n` to `path`.
pub fn success(kind: Kind, n: u64, path: &str) -> Reply {
    match kind {
        Kind::Mailgun => mailgun_queued(n, path),
        Kind::SendGrid => sendgrid_accepted(n),
        Kind::Postmark => postmark_ok(n),
        Kind::Twilio => twilio_created(n),
        Kind::Vonage => vonage_sent(n),
        Kind::Bandwidth if path == BANDWIDTH_TOKEN_PATH => bandwidth_token_issued(n),
        Kind::Bandwidth => bandwidth_accepted(n),
    }
}

/// The error answer of `kind` with `status` (an outage, a refused login).
pub fn failure(kind: Kind, status: u16, path: &str) -> Reply {
    let body = match kind {
        Kind::Postmark => json!({"ErrorCode": 100, "Message": "Maintenance"}),
        Kind::SendGrid => json!({"errors": [{"message": "Service Unavailable"}]}),
        Kind::Twilio => {
            json!({"code": 20500, "message": "Internal Server Error", "status": status})
        }
        Kind::Mailgun => json!({"message": "Service Unavailable"}),
        Kind::Vonage => json!({"type": "about:blank", "title": "Service Unavailable"}),
        // RFC 6749 §5.2 from the token endpoint, Bandwidth's own shape
        // from the API.
        Kind::Bandwidth if path == BANDWIDTH_TOKEN_PATH => json!({"error": "invalid_client"}),
        Kind::Bandwidth => {
            json!({"type": "unauthorized", "description": "Authentication Failed"})
        }
    };
    Reply::json(status, body)
}

/// Mailgun: 200 `{"id": "<…@domain>", "message": "Queued. Thank you."}`,
/// the domain taken from `/v3/{domain}/messages`.
pub fn mailgun_queued(n: u64, path: &str) -> Reply {
    let domain = path.split('/').nth(3).unwrap_or("mg.example");
    Reply::json(
        200,
        json!({"id": format!("<20260501.{n}@{domain}>"), "message": "Queued. Thank you."}),
    )
}

/// SendGrid: 202, empty body, the id in `X-Message-Id`.
pub fn sendgrid_accepted(n: u64) -> Reply {
    Reply::status(202).with_header("x-message-id", format!("sgmsg{n:08}"))
}

/// Postmark: 200 with the `MessageID`.
pub fn postmark_ok(n: u64) -> Reply {
    Reply::json(
        200,
        json!({"To": "x", "SubmittedAt": "2026-05-01T10:00:00Z",
            "MessageID": format!("b7bc2f4a-e38e-4336-af7d-{n:012}"), "ErrorCode": 0, "Message": "OK"}),
    )
}

/// Twilio: 201 with the message resource; the price is not known yet.
pub fn twilio_created(n: u64) -> Reply {
    Reply::json(
        201,
        json!({"sid": format!("SM{n:032}"), "status": "queued",
            "price": null, "price_unit": "USD", "num_segments": "1"}),
    )
}

/// Vonage: 200 with one entry per part, all values strings; `"0"` is
/// success, and the price (in the account's currency) is stated.
pub fn vonage_sent(n: u64) -> Reply {
    Reply::json(
        200,
        json!({"message-count": "1", "messages": [{
            "to": "12025550142", "message-id": format!("0A00000{n:09X}"), "status": "0",
            "remaining-balance": "12.34560000", "message-price": VONAGE_PRICE,
            "network": "310004"}]}),
    )
}

/// Bandwidth's token endpoint: a token as the SDKs read it
/// (`access_token`, `expires_in`).
pub fn bandwidth_token_issued(n: u64) -> Reply {
    Reply::json(
        200,
        json!({"access_token": bandwidth_token(n), "token_type": "Bearer", "expires_in": 3600}),
    )
}

/// Bandwidth's Messaging API: 202 with the message.
pub fn bandwidth_accepted(n: u64) -> Reply {
    Reply::json(
        202,
        json!({"id": format!("16{n:026}"), "owner": "+19195551212",
            "time": "2026-12-01T10:00:00.000Z", "segmentCount": 1, "direction": "out"}),
    )
}

/// When to answer with an error instead.
#[derive(Default)]
struct Outage {
    status: AtomicU16,
    /// Failures still to give; `usize::MAX` is "until recovered".
    left: AtomicUsize,
}

impl Outage {
    /// Whether this request fails, counting it.
    fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| match left {
                0 => None,
                usize::MAX => Some(usize::MAX),
                l => Some(l - 1),
            })
            .is_ok()
    }
}

/// A loopback stand-in for one provider's API: answers as [`success`]
/// does, or [`failure`] during an outage, and records every request.
#[derive(Clone)]
pub struct MockProvider {
    pub url: String,
    kind: Kind,
    server: MockServer,
    outage: Arc<Outage>,
}

impl MockProvider {
    pub async fn start(kind: Kind) -> MockProvider {
        let outage = Arc::new(Outage::default());
        let script_outage = outage.clone();
        let server = MockServer::start(move |req| {
            if script_outage.take() {
                let status = script_outage.status.load(Ordering::SeqCst);
                failure(kind, status, req.path)
            } else {
                success(kind, req.n, req.path)
            }
        })
        .await;
        MockProvider {
            url: server.url.clone(),
            kind,
            server,
            outage,
        }
    }

    /// Answer `status` to every send from now on (an outage).
    pub fn fail_always(&self, status: u16) {
        self.outage.status.store(status, Ordering::SeqCst);
        self.outage.left.store(usize::MAX, Ordering::SeqCst);
    }

    pub fn recover(&self) {
        self.outage.left.store(0, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Successful sends so far.
    pub fn accepted(&self) -> Vec<Recorded> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    /// Waits until `n` sends succeeded; returns them, or panics after `limit`.
    pub async fn wait_accepted(&self, n: usize, limit: Duration) -> Vec<Recorded> {
        let start = Instant::now();
        loop {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "{:?} mock accepted {} of {n}",
                self.kind,
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
