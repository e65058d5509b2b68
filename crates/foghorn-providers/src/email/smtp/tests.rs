//! The SMTP provider against an SMTP server (foghorn-testkit's sink)
//! started by each test on loopback: what arrives is parsed back from the
//! raw MIME and checked header by header and part by part.

use super::*;
use crate::email::testkit;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use foghorn_testkit::smtp::SmtpSink;
use serde_json::Value;

const FIVE_S: Duration = Duration::from_secs(5);

async fn sink(auth: Option<(&str, &str)>) -> SmtpSink {
    SmtpSink::start(auth).await
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn smtp(url: &str) -> Smtp {
    let config = Config {
        url: url.into(),
        from: "NaviDocs <noreply@navidocs.example>".into(),
        timeout: None,
    };
    Smtp::new("smtp", config, FIVE_S, true).unwrap()
}

// ---- a small MIME reader, enough for what lettre writes ----

struct Mime {
    headers: Vec<(String, String)>,
    body: String,
}

impl Mime {
    fn parse(raw: &str) -> Mime {
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .expect("a blank line after the headers");
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                // RFC 5322 §2.2.3 unfolding: the line break goes, the space stays.
                headers
                    .last_mut()
                    .expect("a folded first line")
                    .1
                    .push_str(line);
            } else {
                let (name, value) = line.split_once(':').expect("a header line");
                headers.push((name.to_string(), value.trim_start().to_string()));
            }
        }
        Mime {
            headers,
            body: body.to_string(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name));
        let first = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "`{name}` appears more than once");
        first
    }

    fn parts(&self) -> Vec<Mime> {
        let content_type = self.header("Content-Type").unwrap();
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .expect("a boundary")
            .trim_matches('"');
        let delimiter = format!("--{boundary}");
        let mut sections: Vec<&str> = self.body.split(delimiter.as_str()).collect();
        sections.remove(0); // the preamble
        assert!(
            sections.pop().unwrap().starts_with("--"),
            "closing delimiter"
        );
        sections
            .into_iter()
            .map(|s| Mime::parse(s.strip_prefix("\r\n").unwrap().trim_end_matches("\r\n")))
            .collect()
    }

    fn text(&self) -> String {
        let encoding = self.header("Content-Transfer-Encoding").unwrap_or("7bit");
        let body = self.body.trim_end_matches("\r\n");
        match encoding.to_ascii_lowercase().as_str() {
            "7bit" | "8bit" => body.to_string(),
            "base64" => {
                let joined: String = body.split("\r\n").collect();
                String::from_utf8(B64.decode(joined).unwrap()).unwrap()
            }
            "quoted-printable" => decode_qp(body),
            other => panic!("unexpected encoding {other}"),
        }
    }
}

fn decode_qp(body: &str) -> String {
    let soft = body.replace("=\r\n", "");
    let bytes = soft.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

// ---- tests ----

#[tokio::test]
async fn delivers_a_multipart_alternative_message_with_every_header() {
    let sink = sink(None).await;
    let mut msg = testkit::message();
    msg.content.html = Some("<p>Olá Ana — open <b>Q3 report</b></p>".into());
    let receipt = smtp(&sink.url("")).send(&msg).await.unwrap();
    let id = "ntf_01hx7k3q9e8w2m5n4b6v1c0z9y@navidocs.example";
    assert_eq!(receipt.provider_message_id.as_deref(), Some(id));
    assert_eq!(receipt.http_status, None);

    let (envelope, raw) = sink.message(1).await;
    assert_eq!(envelope["mail_from"], "noreply@navidocs.example");
    assert_eq!(envelope["rcpt_tos"], serde_json::json!(["ana@example.com"]));
    assert_eq!(envelope["login"], Value::Null);

    let mail = Mime::parse(&raw);
    assert_eq!(
        mail.header("From"),
        Some("NaviDocs <noreply@navidocs.example>")
    );
    assert_eq!(mail.header("To"), Some("ana@example.com"));
    assert_eq!(
        mail.header("Subject"),
        Some("Ana, a document was shared with you")
    );
    assert_eq!(
        mail.header("Reply-To"),
        Some("Support <help@navidocs.example>")
    );
    assert_eq!(mail.header("Message-ID"), Some(format!("<{id}>").as_str()));
    assert_eq!(
        mail.header("X-Foghorn-Notification-Id"),
        Some("ntf_01hx7k3q9e8w2m5n4b6v1c0z9y")
    );
    assert_eq!(
        mail.header("List-Unsubscribe"),
        Some("<https://navidocs.example/u/abc>, <mailto:unsub@navidocs.example>")
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(mail.header("MIME-Version"), Some("1.0"));
    assert!(mail.header("Date").is_some());
    assert!(mail.header("Bcc").is_none());
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative;"),
        "{:?}",
        mail.header("Content-Type")
    );
    let parts = mail.parts();
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[0].header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(parts[0].text(), "Open Q3 report");
    assert_eq!(
        parts[1].header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(parts[1].text(), "<p>Olá Ana — open <b>Q3 report</b></p>");
}

#[tokio::test]
async fn a_text_only_message_is_a_single_part_from_the_engines_sender() {
    let sink = sink(None).await;
    let mut msg = testkit::message();
    msg.content.html = None;
    msg.headers.clear();
    msg.from = Some("alerts@navidocs.example".into());
    smtp(&sink.url("")).send(&msg).await.unwrap();
    let (envelope, raw) = sink.message(1).await;
    assert_eq!(envelope["mail_from"], "alerts@navidocs.example");
    let mail = Mime::parse(&raw);
    assert_eq!(mail.header("From"), Some("alerts@navidocs.example"));
    assert_eq!(
        mail.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(mail.text(), "Open Q3 report");
    assert_eq!(
        mail.header("Message-ID"),
        Some("<ntf_01hx7k3q9e8w2m5n4b6v1c0z9y@navidocs.example>")
    );
    assert!(mail.header("List-Unsubscribe").is_none() && mail.header("Reply-To").is_none());
}

#[tokio::test]
async fn authenticates_and_classifies_auth_failures() {
    let sink = sink(Some(("navi", "s3cr:et"))).await;
    // The password is percent-encoded in the URL, as `lettre` expects.
    smtp(&sink.url("navi:s3cr%3Aet@"))
        .send(&testkit::message())
        .await
        .unwrap();
    let (envelope, _) = sink.message(1).await;
    assert_eq!(envelope["login"], "navi");

    let err = smtp(&sink.url("navi:wrong@"))
        .send(&testkit::message())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "misconfigured", "{err}");
    assert!(err.to_string().contains("535"), "{err}");

    let err = smtp(&sink.url(""))
        .send(&testkit::message())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "misconfigured", "{err}");
    assert!(err.to_string().contains("530"), "{err}");
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn classifies_rejected_recipients_by_reply_class() {
    let sink = sink(None).await;
    let provider = smtp(&sink.url(""));
    let mut msg = testkit::message();
    msg.to = foghorn_core::Address::Email("reject-perm@example.com".into());
    let err = provider.send(&msg).await.unwrap_err();
    assert_eq!(err.kind(), "permanent", "{err}");
    assert!(
        err.to_string().contains("550") && err.to_string().contains("User unknown"),
        "{err}"
    );

    msg.to = foghorn_core::Address::Email("reject-temp@example.com".into());
    let err = provider.send(&msg).await.unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");
    assert!(err.to_string().contains("451"), "{err}");
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn no_server_or_a_silent_one_is_retryable() {
    let refused = smtp(&format!("smtp://127.0.0.1:{}", free_port()));
    let err = refused.send(&testkit::message()).await.unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");

    // Accepts the connection and never greets.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let (socket, _) = silent.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(socket);
    });
    let config = Config {
        url: format!("smtp://127.0.0.1:{port}"),
        from: "noreply@navidocs.example".into(),
        timeout: Some(Duration::from_millis(300)),
    };
    let started = std::time::Instant::now();
    let err = Smtp::new("smtp", config, FIVE_S, true)
        .unwrap()
        .send(&testkit::message())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "retryable", "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    held.abort();
}

#[tokio::test]
async fn refuses_what_it_cannot_send_before_connecting() {
    let provider = smtp("smtp://127.0.0.1:9");
    let mut msg = testkit::message();
    msg.headers
        .push(("X-Foghorn-Notification-Id".into(), "forged".into()));
    let err = provider.send(&msg).await.unwrap_err();
    assert_eq!(err.kind(), "permanent", "{err}");
    assert!(err.to_string().contains("set by the provider"), "{err}");
}

#[test]
fn validates_urls_and_keeps_passwords_out_of_logs() {
    let build = |url: &str| {
        let config = Config {
            url: url.into(),
            from: "noreply@navidocs.example".into(),
            timeout: None,
        };
        Smtp::new("smtp", config, FIVE_S, true).map_err(|e| e.to_string())
    };
    assert!(build("smtps://navi:hunter2@smtp.navidocs.example").is_ok());
    assert!(build("smtp://navi:hunter2@smtp.navidocs.example:587?tls=required").is_ok());
    assert!(build("smtp://navi:hunter2@localhost:2525").is_ok());
    assert!(build("smtp://navi:hunter2@[::1]:2525").is_ok());
    assert!(build("smtp://relay.internal:25").is_ok());
    for (url, says) in [
        (
            "smtp://navi:hunter2@smtp.navidocs.example:587",
            "plain text",
        ),
        (
            "smtp://navi:hunter2@smtp.navidocs.example?tls=opportunistic",
            "plain text",
        ),
        ("https://smtp.navidocs.example", "scheme"),
        ("smtp://x?tls=sometimes", "scheme"),
        ("not a url", "url"),
    ] {
        let err = build(url).unwrap_err();
        assert!(err.contains(says), "{url}: {err}");
    }
    let p = build("smtps://navi:hunter2@smtp.navidocs.example").unwrap();
    let config = Config {
        url: "smtps://navi:hunter2@smtp.navidocs.example".into(),
        from: "a@b.example".into(),
        timeout: None,
    };
    let debug = format!("{p:?} {config:?}");
    assert!(
        !debug.contains("hunter2") && debug.contains("navi"),
        "{debug}"
    );
    assert!(p.supports(Channel::Email) && !p.supports(Channel::Sms));

    let parsed: Config = serde_json::from_value(serde_json::json!({
        "url": "smtps://h", "from": "a@b.example", "timeout": "250ms"
    }))
    .unwrap();
    assert_eq!(parsed.timeout, Some(Duration::from_millis(250)));
    let bad: Result<Config, _> = serde_json::from_value(serde_json::json!({
        "url": "smtps://h", "from": "a@b.example", "timeout": "2h"
    }));
    assert!(bad.unwrap_err().to_string().contains("unknown unit"));
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
}
