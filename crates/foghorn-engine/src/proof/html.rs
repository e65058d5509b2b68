//! The proof as a printable page: a header with the event, the time, the
//! signing key and the totals, then one section per owner (each starting
//! a printed page). Every value is escaped; the page needs no script and
//! no asset beyond its own style.

use super::document::{Owner, Proof};
use std::fmt::Write as _;

/// HTML-escapes text for element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;font-size:11pt;margin:2em;color:#111}\
h1{font-size:16pt;margin:0 0 .3em}h2{font-size:13pt;margin:1.2em 0 .3em}\
table{border-collapse:collapse;width:100%;margin:.3em 0}\
th,td{border:1px solid #999;padding:2px 6px;text-align:left;font-size:9.5pt;vertical-align:top}\
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:.5em 0}dt{font-weight:bold}dd{margin:0}\
.ack{color:#064}.none{color:#700}code{font-size:9pt;word-break:break-all}\
@media print{body{margin:0}section.owner{break-before:page}}";

/// The whole page.
pub fn render(proof: &Proof) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Proof of notice {}</title><style>{STYLE}</style></head><body>\n",
        escape(&proof.event_id)
    );
    let _ = write!(
        h,
        "<header><h1>Proof of notice: {} ({})</h1><dl>",
        escape(&proof.event_name),
        escape(&proof.event_id)
    );
    let t = &proof.totals;
    let mut facts: Vec<(&str, String)> = vec![
        ("Tenant", proof.tenant.clone()),
        ("Generated at", proof.generated_at.clone()),
        ("Owners", proof.owners.len().to_string()),
        ("Reached", t.reached.to_string()),
        ("Acknowledged", t.acknowledged.to_string()),
        ("Unreachable", t.unreachable.to_string()),
    ];
    if let Some(s) = &proof.signature {
        facts.push(("Signed", format!("{} key {}", s.algorithm, s.key_id)));
    }
    if let Some(a) = &proof.anchor {
        facts.push(("Audit row", a.audit_seq.to_string()));
        facts.push(("Audit entry hash", a.entry_hash.clone()));
        facts.push(("Document SHA-256", a.document_sha256.clone()));
    }
    for (k, v) in facts {
        let _ = write!(
            h,
            "<dt>{}</dt><dd><code>{}</code></dd>",
            escape(k),
            escape(&v)
        );
    }
    h.push_str(
        "</dl><p>The signed JSON export is the proof; check it with \
         <code>foghorn proof verify FILE --public-key KEY</code>.</p></header>\n",
    );
    for o in &proof.owners {
        owner(&mut h, o);
    }
    h.push_str("</body></html>\n");
    h
}

fn owner(h: &mut String, o: &Owner) {
    let _ = write!(
        h,
        "<section class=\"owner\"><h2>{}</h2>",
        escape(&o.subscriber)
    );
    match (&o.acknowledged, &o.reason) {
        (Some(a), _) => {
            let _ = write!(
                h,
                "<p class=\"ack\">Acknowledged at {} via {} by {}</p>",
                escape(&a.at),
                escape(&a.via),
                escape(&a.by)
            );
        }
        (None, reason) => {
            let _ = write!(
                h,
                "<p class=\"none\">{}</p>",
                escape(&super::document::sentence(reason.as_deref()))
            );
        }
    }
    h.push_str("<table><thead><tr><th>Attempt time</th><th>Channel</th><th>Provider</th><th>Provider message id</th><th>Outcome</th><th>HTTP</th></tr></thead><tbody>");
    if o.attempts.is_empty() {
        h.push_str("<tr><td colspan=\"6\">no attempt</td></tr>");
    }
    for a in &o.attempts {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&a.time),
            escape(&a.channel),
            escape(&a.provider),
            escape(a.provider_message_id.as_deref().unwrap_or("")),
            escape(&a.outcome),
            a.http_status.map(|s| s.to_string()).unwrap_or_default()
        );
    }
    h.push_str("</tbody></table><table><thead><tr><th>Receipt time</th><th>Kind</th><th>Channel</th><th>Provider</th></tr></thead><tbody>");
    if o.receipts.is_empty() {
        h.push_str("<tr><td colspan=\"4\">no receipt</td></tr>");
    }
    for r in &o.receipts {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.time),
            escape(&r.kind),
            escape(&r.channel),
            escape(r.provider.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::document::{Acknowledged, Totals};

    #[test]
    fn values_are_escaped() {
        let p = Proof {
            event_id: "evt_<1>".into(),
            event_name: "recall.issued".into(),
            tenant: "default".into(),
            generated_at: "2026-12-03T10:00:00.000Z".into(),
            owners: vec![Owner {
                subscriber: "<script>alert(1)</script>".into(),
                attempts: vec![],
                receipts: vec![],
                acknowledged: Some(Acknowledged {
                    at: "2026-12-03T10:01:00.000Z".into(),
                    via: "link".into(),
                    by: "O'Brien & \"sons\"".into(),
                }),
                reason: None,
            }],
            totals: Totals {
                reached: 1,
                acknowledged: 1,
                unreachable: 0,
            },
            anchor: None,
            signature: None,
        };
        let h = render(&p);
        assert!(!h.contains("<script>"));
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(h.contains("O&#39;Brien &amp; &quot;sons&quot;"));
        assert!(h.contains("evt_&lt;1&gt;"));
    }
}
