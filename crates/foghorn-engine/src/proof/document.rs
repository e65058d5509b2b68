//! The proof document: per affected owner, what was tried, what providers
//! reported and whether (and how) the owner confirmed; then the totals.
//!
//! Owners are the event's recipients, told apart by subscriber id; the
//! team's own alerts (Slack, Discord, webhooks without a subscriber) are
//! not owners and stay out. An inline recipient without an id gets a
//! stable label (a keyed hash of its addresses), never the address itself:
//! the document may leave the building, and the subscriber id is the
//! identity the tenant knows its people by.

use foghorn_core::Status;
use foghorn_store::crypto::Crypto;
use foghorn_store::{AttemptRow, NotificationRow, ProofFacts, TimelineRow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A proof of notice, as exported. `anchor` and `signature` are filled in
/// last: the anchor cites the digest of everything above it, and the
/// signature covers everything but itself (the anchor included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proof {
    pub event_id: String,
    /// The event's name (`recall.issued`).
    pub event_name: String,
    pub tenant: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub owners: Vec<Owner>,
    pub totals: Totals,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<Anchor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    /// The subscriber id, or `recipient-…` for an inline recipient.
    pub subscriber: String,
    pub attempts: Vec<AttemptEntry>,
    pub receipts: Vec<Receipt>,
    /// Null when nobody confirmed; `reason` then says why.
    pub acknowledged: Option<Acknowledged>,
    /// Null when acknowledged.
    pub reason: Option<String>,
}

/// One call to a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptEntry {
    pub time: String,
    pub notification_id: String,
    pub channel: String,
    pub provider: String,
    /// The provider's id for the message, on the attempt it accepted.
    pub provider_message_id: Option<String>,
    /// `sent` (the provider accepted it), or the class of its refusal
    /// (`retryable`, `permanent`, `rate_limited`, …).
    pub outcome: String,
    pub http_status: Option<i64>,
}

/// What a provider reported after the send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub time: String,
    pub notification_id: String,
    /// `delivered`, `read`, `failed`, `undelivered`, `hard_bounce`, …
    pub kind: String,
    pub channel: String,
    pub provider: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledged {
    pub at: String,
    /// `link`, `voice`, `sms reply`, `slack`, …
    pub via: String,
    pub by: String,
}

/// Counts of owners.
///
/// - `reached`: at least one of the owner's messages got there, as far as
///   the providers say: a `delivered` or `read` receipt, or a provider
///   accepted it and no later receipt reported it failed, undelivered or
///   bounced. An owner who acknowledged was reached, whatever the receipts.
/// - `acknowledged`: the owner confirmed (a subset of `reached`).
/// - `unreachable`: not reached, and nothing is left to try: every attempt
///   failed, or every notification was suppressed, dead or cancelled.
///
/// Owners in none of `reached` and `unreachable` are still being tried
/// (a notification queued or an escalation scheduled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub reached: u64,
    pub acknowledged: u64,
    pub unreachable: u64,
}

/// Where the export sits in the audit chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub audit_seq: i64,
    pub entry_hash: String,
    /// SHA-256 (hex) of the canonical document without `anchor` and
    /// `signature`; the audit row records the same digest.
    pub document_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub algorithm: String,
    pub key_id: String,
    pub public_key: String,
    pub value: String,
}

/// Receipts that say a message got there.
const ARRIVED: [&str; 2] = ["delivered", "read"];
/// Receipts that say an accepted message never got there.
const LOST: [&str; 3] = ["failed", "undelivered", "hard_bounce"];
/// Timeline entries Foghorn writes itself: not a provider's receipt.
const OWN_ENTRIES: [&str; 2] = ["acknowledged", "cancelled"];

/// RFC 3339 (UTC, milliseconds) of epoch milliseconds.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The unsigned, unanchored document for `facts`, as of `now`.
pub fn build(facts: &ProofFacts, crypto: &Crypto, now: i64) -> Proof {
    let mut groups: BTreeMap<String, Vec<&NotificationRow>> = BTreeMap::new();
    for n in &facts.notifications {
        if n.subscriber_id.is_none() && n.channel.is_team_destination() {
            continue;
        }
        groups.entry(label(n, crypto)).or_default().push(n);
    }
    let index = Index::new(facts);
    let mut owners: Vec<Owner> = groups
        .into_iter()
        .map(|(subscriber, notes)| owner(subscriber, &notes, &index))
        .collect();
    // owner-2 before owner-10, as people read a list.
    owners.sort_by_cached_key(|o| natural(&o.subscriber));
    let mut totals = Totals {
        reached: 0,
        acknowledged: 0,
        unreachable: 0,
    };
    for o in &owners {
        match standing(o) {
            Standing::Acknowledged => {
                totals.reached += 1;
                totals.acknowledged += 1;
            }
            Standing::Reached => totals.reached += 1,
            Standing::Unreachable => totals.unreachable += 1,
            Standing::Pending => {}
        }
    }
    Proof {
        event_id: facts.event.id.clone(),
        event_name: facts.event.name.clone(),
        tenant: facts.event.tenant_id.to_string(),
        generated_at: rfc3339(now),
        owners,
        totals,
        anchor: None,
        signature: None,
    }
}

/// How an owner counts in the totals; read back from the owner's entry so
/// the totals and the per-owner lines cannot disagree.
enum Standing {
    Acknowledged,
    Reached,
    Unreachable,
    Pending,
}

fn standing(o: &Owner) -> Standing {
    match (&o.acknowledged, o.reason.as_deref()) {
        (Some(_), _) => Standing::Acknowledged,
        (None, Some(r)) if r.starts_with(REACHED) => Standing::Reached,
        (None, Some(r)) if r.starts_with(UNREACHABLE) || r.starts_with(SUPPRESSED) => {
            Standing::Unreachable
        }
        _ => Standing::Pending,
    }
}

const REACHED: &str = "not acknowledged: reached";
const UNREACHABLE: &str = "unreachable:";
const SUPPRESSED: &str = "suppressed:";

fn label(n: &NotificationRow, crypto: &Crypto) -> String {
    if let Some(id) = &n.subscriber_id {
        return id.clone();
    }
    // The same person's notifications on several channels carry the same
    // addresses, so they hash alike; the hash is keyed, so the label cannot
    // be turned back into an address by guessing.
    let recipient: serde_json::Value = serde_json::from_str(&n.recipient).unwrap_or_default();
    let addresses = serde_json::json!({
        "email": recipient.get("email"),
        "phone": recipient.get("phone"),
        "whatsapp": recipient.get("whatsapp"),
    });
    let text = foghorn_core::canonical::to_string(&addresses);
    match crypto.sign("proof.recipient", text.as_bytes()) {
        Some(tag) => format!("recipient-{}", foghorn_core::hex::hex(&tag[..6])),
        None => format!("recipient-{}", n.escalates.as_ref().unwrap_or(&n.id)),
    }
}

/// The event's attempts and timeline entries by notification, read once.
struct Index<'a> {
    attempts: HashMap<&'a str, Vec<&'a AttemptRow>>,
    timeline: HashMap<&'a str, Vec<&'a TimelineRow>>,
}

impl<'a> Index<'a> {
    fn new(facts: &'a ProofFacts) -> Index<'a> {
        let mut attempts: HashMap<&str, Vec<&AttemptRow>> = HashMap::new();
        for a in &facts.attempts {
            attempts
                .entry(a.notification_id.as_str())
                .or_default()
                .push(a);
        }
        let mut timeline: HashMap<&str, Vec<&TimelineRow>> = HashMap::new();
        for t in &facts.timeline {
            timeline
                .entry(t.notification_id.as_str())
                .or_default()
                .push(t);
        }
        Index { attempts, timeline }
    }

    fn attempts(&self, n: &NotificationRow) -> &[&'a AttemptRow] {
        self.attempts.get(n.id.as_str()).map_or(&[], Vec::as_slice)
    }

    fn timeline(&self, n: &NotificationRow) -> &[&'a TimelineRow] {
        self.timeline.get(n.id.as_str()).map_or(&[], Vec::as_slice)
    }
}

fn owner(subscriber: String, notes: &[&NotificationRow], index: &Index<'_>) -> Owner {
    let mut attempts: Vec<(i64, &str, AttemptEntry)> = Vec::new();
    let mut receipts: Vec<(i64, &str, Receipt)> = Vec::new();
    for n in notes {
        for a in index.attempts(n) {
            attempts.push((
                a.created_at,
                a.id.as_str(),
                AttemptEntry {
                    time: rfc3339(a.created_at),
                    notification_id: n.id.clone(),
                    channel: n.channel.as_str().to_string(),
                    provider: a.provider.clone(),
                    provider_message_id: if a.outcome == "sent" {
                        n.provider_message_id.clone()
                    } else {
                        None
                    },
                    outcome: a.outcome.clone(),
                    http_status: a.http_status,
                },
            ));
        }
        for t in index.timeline(n) {
            if OWN_ENTRIES.contains(&t.kind.as_str()) {
                continue;
            }
            receipts.push((
                t.at,
                t.id.as_str(),
                Receipt {
                    time: rfc3339(t.at),
                    notification_id: n.id.clone(),
                    kind: t.kind.clone(),
                    channel: n.channel.as_str().to_string(),
                    provider: t.provider.clone(),
                },
            ));
        }
    }
    // Oldest first across the owner's channels.
    attempts.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    receipts.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let attempts: Vec<AttemptEntry> = attempts.into_iter().map(|(_, _, a)| a).collect();
    let receipts: Vec<Receipt> = receipts.into_iter().map(|(_, _, r)| r).collect();
    let acknowledged = notes
        .iter()
        .filter_map(|n| n.acknowledged_at.map(|at| (at, *n)))
        .min_by_key(|(at, n)| (*at, n.id.clone()))
        .map(|(at, n)| Acknowledged {
            at: rfc3339(at),
            via: n.acknowledged_via.clone().unwrap_or_default(),
            by: n.acknowledged_by.clone().unwrap_or_default(),
        });
    let reason = match acknowledged {
        Some(_) => None,
        None => Some(why_not(notes, index)),
    };
    Owner {
        subscriber,
        attempts,
        receipts,
        acknowledged,
        reason,
    }
}

/// Why an owner has no acknowledgement, starting with one of the prefixes
/// [`standing`] reads.
fn why_not(notes: &[&NotificationRow], index: &Index<'_>) -> String {
    // The first time each channel reached the owner, in time order.
    let mut reaches: Vec<(i64, &str)> = Vec::new();
    for n in notes {
        let Some(at) = reached_at(n, index) else {
            continue;
        };
        match reaches.iter_mut().find(|(_, c)| *c == n.channel.as_str()) {
            Some(r) if r.0 > at => r.0 = at,
            Some(_) => {}
            None => reaches.push((at, n.channel.as_str())),
        }
    }
    reaches.sort();
    let waiting = notes
        .iter()
        .filter(|n| {
            matches!(
                n.status,
                Status::Scheduled | Status::Queued | Status::Sending
            )
        })
        .count();
    let still = match waiting {
        0 => String::new(),
        1 => "; 1 notification still to send".to_string(),
        n => format!("; {n} notifications still to send"),
    };
    if !reaches.is_empty() {
        let how: Vec<String> = reaches
            .iter()
            .map(|(at, channel)| format!("{channel} at {}", rfc3339(*at)))
            .collect();
        return format!("{REACHED} by {}{still}", how.join(", "));
    }
    if waiting > 0 {
        return format!("not reached yet: {waiting} notification(s) still to send");
    }
    let tried: Vec<&str> = distinct(
        notes
            .iter()
            .filter(|n| !index.attempts(n).is_empty())
            .map(|n| n.channel.as_str()),
    );
    if !tried.is_empty() {
        let accepted = notes
            .iter()
            .any(|n| index.attempts(n).iter().any(|a| a.outcome == "sent"));
        return if accepted {
            format!(
                "{UNREACHABLE} the providers reported every accepted message undelivered ({})",
                tried.join(", ")
            )
        } else {
            format!("{UNREACHABLE} every attempt failed ({})", tried.join(", "))
        };
    }
    let suppressed: Vec<&str> = distinct(
        notes
            .iter()
            .filter(|n| n.status == Status::Suppressed)
            .map(|n| n.status_reason.as_deref().unwrap_or("suppressed")),
    );
    if !suppressed.is_empty() && notes.iter().all(|n| n.status == Status::Suppressed) {
        return format!("{SUPPRESSED} {}", suppressed.join("; "));
    }
    let ended: Vec<String> = distinct(notes.iter().map(|n| n.status.as_str()))
        .into_iter()
        .map(str::to_string)
        .collect();
    format!("{UNREACHABLE} nothing was sent ({})", ended.join(", "))
}

/// When a notification is known to have got there, if it is.
fn reached_at(n: &NotificationRow, index: &Index<'_>) -> Option<i64> {
    let receipts = index.timeline(n);
    if let Some(t) = receipts.iter().find(|t| ARRIVED.contains(&t.kind.as_str())) {
        return Some(t.at);
    }
    if receipts.iter().any(|t| LOST.contains(&t.kind.as_str())) {
        return None;
    }
    index
        .attempts(n)
        .iter()
        .find(|a| a.outcome == "sent")
        .map(|a| a.created_at)
}

/// A sort key that orders runs of digits by their value.
fn natural(s: &str) -> Vec<(bool, u128, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let digits = c.is_ascii_digit();
        let end = rest
            .find(|x: char| x.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        let value = if digits {
            run.parse().unwrap_or(u128::MAX)
        } else {
            0
        };
        out.push((digits, value, run.to_string()));
        rest = tail;
    }
    out
}

/// The values in first-seen order, once each.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The reason there is no acknowledgement as a printed page says it:
/// the reason itself ("not acknowledged: reached by …", "unreachable: …"),
/// capitalised.
pub(super) fn sentence(reason: Option<&str>) -> String {
    let r = reason.unwrap_or("not acknowledged: no reason recorded");
    let mut c = r.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foghorn_core::{Channel, TenantId};
    use foghorn_store::EventRow;

    fn note(
        id: &str,
        subscriber: Option<&str>,
        channel: Channel,
        status: Status,
    ) -> NotificationRow {
        NotificationRow {
            id: id.into(),
            tenant_id: TenantId::default_tenant(),
            event_id: "evt_1".into(),
            workflow: "recall.issued".into(),
            step: 0,
            channel,
            subscriber_id: subscriber.map(str::to_string),
            recipient: r#"{"email":"a@example.com","phone":"+12025550142"}"#.into(),
            status,
            status_reason: None,
            grouping_key: None,
            idempotency_key: None,
            provider: Some("twilio".into()),
            provider_message_id: Some(format!("SM-{id}")),
            cost_micros: None,
            currency: None,
            attempts: 1,
            parent_id: None,
            send_at: None,
            created_at: 1_000,
            updated_at: 1_000,
            acknowledged_at: None,
            acknowledged_by: None,
            acknowledged_via: None,
            escalates: None,
        }
    }

    fn attempt(n: &str, outcome: &str, at: i64) -> AttemptRow {
        AttemptRow {
            id: format!("att_{n}_{at}"),
            tenant_id: TenantId::default_tenant(),
            notification_id: n.into(),
            provider: "twilio".into(),
            outcome: outcome.into(),
            http_status: Some(if outcome == "sent" { 201 } else { 400 }),
            error: None,
            latency_ms: 5,
            created_at: at,
        }
    }

    fn receipt(n: &str, kind: &str, at: i64) -> TimelineRow {
        TimelineRow {
            id: format!("tl_{n}_{kind}"),
            tenant_id: TenantId::default_tenant(),
            notification_id: n.into(),
            at,
            kind: kind.into(),
            provider: Some("twilio".into()),
            code: None,
            detail: None,
        }
    }

    fn facts() -> ProofFacts {
        let mut acked = note("n1", Some("owner-1"), Channel::Sms, Status::Sent);
        acked.acknowledged_at = Some(5_000);
        acked.acknowledged_via = Some("link".into());
        acked.acknowledged_by = Some("recipient (link)".into());
        let mut also_acked = note("n2", Some("owner-1"), Channel::Email, Status::Sent);
        also_acked.acknowledged_at = Some(5_000);
        also_acked.acknowledged_via = Some("link".into());
        let mut suppressed = note("n6", Some("owner-4"), Channel::Sms, Status::Suppressed);
        suppressed.status_reason = Some("unsubscribed".into());
        ProofFacts {
            event: EventRow {
                id: "evt_1".into(),
                tenant_id: TenantId::default_tenant(),
                name: "recall.issued".into(),
                idempotency_key: None,
                grouping_key: None,
                data: "{}".into(),
                response: "{}".into(),
                created_at: 1_000,
            },
            notifications: vec![
                acked,
                also_acked,
                note("n3", Some("owner-2"), Channel::Sms, Status::Sent),
                note("n4", Some("owner-3"), Channel::Sms, Status::Dead),
                note("n5", Some("owner-3"), Channel::Voice, Status::Scheduled),
                suppressed,
                note("n7", None, Channel::Slack, Status::Sent),
                note("n8", None, Channel::Sms, Status::Sent),
            ],
            attempts: vec![
                attempt("n1", "sent", 2_000),
                attempt("n2", "sent", 2_100),
                attempt("n3", "sent", 2_000),
                attempt("n4", "permanent", 2_000),
                attempt("n7", "sent", 2_000),
                attempt("n8", "sent", 2_000),
            ],
            timeline: vec![
                receipt("n1", "acknowledged", 5_000),
                receipt("n3", "delivered", 3_000),
            ],
        }
    }

    #[test]
    fn each_owner_says_what_happened_and_the_totals_agree() {
        let p = build(&facts(), &Crypto::ephemeral(), 9_000);
        let names: Vec<&str> = p.owners.iter().map(|o| o.subscriber.as_str()).collect();
        assert_eq!(names.len(), 5, "{names:?}");
        assert_eq!(&names[..4], ["owner-1", "owner-2", "owner-3", "owner-4"]);
        assert!(
            names.iter().any(|n| n.starts_with("recipient-")),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n.contains('@') || n.contains("+1202")));
        let o = |id: &str| p.owners.iter().find(|o| o.subscriber == id).unwrap();

        let one = o("owner-1");
        let ack = one.acknowledged.as_ref().unwrap();
        assert_eq!(
            (ack.via.as_str(), ack.by.as_str()),
            ("link", "recipient (link)")
        );
        assert_eq!(one.reason, None);
        assert_eq!(one.attempts.len(), 2);
        assert!(
            one.receipts.is_empty(),
            "Foghorn's own entries are not receipts"
        );
        assert_eq!(
            one.attempts[0].provider_message_id.as_deref(),
            Some("SM-n1")
        );

        let two = o("owner-2");
        assert_eq!(two.receipts[0].kind, "delivered");
        assert_eq!(
            two.reason.as_deref(),
            Some("not acknowledged: reached by sms at 1970-01-01T00:00:03.000Z")
        );
        let mut order = vec!["owner-10", "owner-9", "b", "owner-100", "a2", "a10"];
        order.sort_by_key(|s| natural(s));
        assert_eq!(
            order,
            ["a2", "a10", "b", "owner-9", "owner-10", "owner-100"]
        );

        let three = o("owner-3");
        assert_eq!(three.attempts[0].provider_message_id, None);
        assert!(
            three
                .reason
                .as_deref()
                .unwrap()
                .starts_with("not reached yet"),
            "{three:?}"
        );
        assert_eq!(
            o("owner-4").reason.as_deref(),
            Some("suppressed: unsubscribed")
        );
        assert_eq!(
            p.totals,
            Totals {
                reached: 3,
                acknowledged: 1,
                unreachable: 1
            }
        );
    }

    #[test]
    fn an_owner_with_nothing_left_to_try_and_no_success_is_unreachable() {
        let mut f = facts();
        f.notifications.retain(|n| n.id != "n5");
        let p = build(&f, &Crypto::ephemeral(), 9_000);
        let three = p.owners.iter().find(|o| o.subscriber == "owner-3").unwrap();
        assert_eq!(
            three.reason.as_deref(),
            Some("unreachable: every attempt failed (sms)")
        );
        assert_eq!(p.totals.unreachable, 2);
        // An accepted message the carrier then reported lost reaches no one.
        let mut f = facts();
        f.timeline = vec![receipt("n3", "undelivered", 3_000)];
        let p = build(&f, &Crypto::ephemeral(), 9_000);
        let two = p.owners.iter().find(|o| o.subscriber == "owner-2").unwrap();
        assert!(
            two.reason.as_deref().unwrap().starts_with("unreachable:"),
            "{two:?}"
        );
    }
}
