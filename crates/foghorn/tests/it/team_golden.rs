//! Golden files of what every pack workflow with a team step sends: the
//! Slack Block Kit body and the Discord embed, rendered from the pack's own
//! sample events. `FOGHORN_UPDATE_GOLDEN=1` rewrites them after a
//! deliberate change; otherwise any difference fails.

use foghorn_core::TenantId;
use foghorn_engine::workflow::{EventFacts, Registry, RenderContext, Source};
use foghorn_providers::team::{discord, slack};
use serde_json::{json, Value};
use std::path::PathBuf;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn compare(name: &str, got: &Value) {
    let path = golden_dir().join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(got).unwrap() + "\n";
    if std::env::var_os("FOGHORN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden file {} (run with FOGHORN_UPDATE_GOLDEN=1)",
            path.display()
        )
    });
    assert_eq!(text, want, "{name} differs from {}", path.display());
}

#[test]
fn every_pack_team_step_renders_as_its_golden_file() {
    let empty = tempfile::tempdir().unwrap();
    let registry = Registry::load(
        empty.path(),
        empty.path(),
        Source::Tenant {
            allow_private: false,
        },
        // The pack's `env:` references are unset here.
        Box::new(|r: &str| {
            if r.starts_with("env:") || r.starts_with("file:") {
                Err("not set".to_string())
            } else {
                Ok(None)
            }
        }),
    )
    .unwrap();
    let samples: Value = serde_json::from_str(foghorn_engine::workflow::samples_json()).unwrap();
    let mut seen = 0;
    for event in samples["events"].as_array().unwrap() {
        let name = event["name"].as_str().unwrap();
        let workflow = registry.get(&TenantId::default_tenant(), name).unwrap();
        for (i, step) in workflow.doc.steps.iter().enumerate() {
            if !matches!(
                step.channel,
                foghorn_core::Channel::Slack | foghorn_core::Channel::Discord
            ) {
                continue;
            }
            let recipient = json!({});
            let ctx = RenderContext {
                event: EventFacts {
                    id: "evt_golden",
                    name,
                },
                data: &event["data"],
                recipient: &recipient,
                notification_id: "ntf_golden",
                locale: None,
                unsubscribe_url: None,
                preferences_url: None,
                acknowledge_url: None,
            };
            let rendered = workflow.render(i, step.channel, &ctx).unwrap();
            let card = rendered.card.expect("a team step renders a card");
            let body = match step.channel {
                foghorn_core::Channel::Slack => json!({
                    "text": card.fallback_text(),
                    "blocks": slack::blocks::draw(&card, "ntf_golden"),
                }),
                _ => discord::embed::message(&card, "ntf_golden", "2026-12-01T09:00:00Z", true),
            };
            compare(&format!("{name}.{}", step.channel), &body);
            seen += 1;
        }
    }
    // warranty.expiring, recall.issued and support.ticket on Slack;
    // ocr.failed on Discord.
    assert_eq!(seen, 4);
}

/// The pack's recall call, rendered from its own `voice.txt` (English and
/// French) and written by each voice provider, is the providers' golden
/// TwiML and BXML: the markup tests there read what the pack says.
#[test]
fn the_packs_recall_call_is_the_providers_golden_markup() {
    use foghorn_core::voice::{language, next_scene, CallInput, CallPage};
    use foghorn_providers::sms::{bandwidth, twilio};
    let empty = tempfile::tempdir().unwrap();
    let registry = Registry::load(
        empty.path(),
        empty.path(),
        Source::Tenant {
            allow_private: false,
        },
        Box::new(|_: &str| Err("not set".to_string())),
    )
    .unwrap();
    let workflow = registry
        .get(&TenantId::default_tenant(), "recall.issued")
        .unwrap();
    let step = workflow
        .doc
        .steps
        .iter()
        .position(|s| s.escalate.is_some())
        .expect("the recall escalates to a call");
    let data = json!({"boat": "Sea Breeze", "recall_id": "RC-2026-114", "component": "fuel pump",
        "manufacturer": "Volvo Penta"});
    let golden =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../foghorn-providers/tests/golden");
    for (locale, tag) in [(None, "en"), (Some("fr"), "fr")] {
        let recipient = json!({});
        let ctx = RenderContext {
            event: EventFacts {
                id: "evt_golden",
                name: "recall.issued",
            },
            data: &data,
            recipient: &recipient,
            notification_id: "ntf_01hx7",
            locale,
            unsubscribe_url: None,
            preferences_url: None,
            acknowledge_url: None,
        };
        let script = workflow
            .render(step, foghorn_core::Channel::Voice, &ctx)
            .unwrap()
            .text
            .unwrap();
        for (provider, markup) in [("twilio", "twiml"), ("bandwidth", "bxml")] {
            let url = format!("https://foghorn.example.com/voice/{provider}/ntf_01hx7");
            let page = CallPage {
                scene: next_scene(&CallInput::default(), &script),
                language: language(locale),
                url: &url,
            };
            let reply = match provider {
                "twilio" => twilio::voice::twiml(&page),
                _ => bandwidth::voice::bxml(&page),
            };
            let path = golden.join(format!("recall.{tag}.{markup}.xml"));
            let want = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                String::from_utf8(reply.body).unwrap(),
                want,
                "{}",
                path.display()
            );
        }
    }
}
