//! A team step's rendered text (`slack.txt`, `discord.txt`, or inline
//! `text`) read as a card, line by line:
//!
//! ```text
//! # Warranty ending: {{ data.title }}          the title
//! The *{{ data.title }}* ends on {{ data.expires_on }}.   the body (mrkdwn)
//! | Boat | {{ data.boat }}                      a field: name | value
//! -- NaviDocs · {{ data.boat }}                 the context line
//! [Review in NaviDocs]({{ data.url }})          a link button
//! ```
//!
//! The step adds the severity, the mention and the Acknowledge buttons.
//! For Slack every string of the event data was escaped (`&`, `<`, `>`)
//! before rendering, so data cannot form a mention or a link; link URLs
//! are unescaped here, since they go into a button's `url`, not mrkdwn.

use super::document::Step;
use foghorn_core::Card;

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `[label](https://…)` alone on a line.
fn link(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('[')?;
    let (label, rest) = rest.split_once("](")?;
    let url = rest.strip_suffix(')')?;
    let url = unescape(url.trim());
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(char::is_whitespace);
    ok.then(|| (label.trim().to_string(), url))
}

pub fn parse(text: &str, step: Option<&Step>) -> Card {
    let mut card = Card::default();
    let mut body: Vec<&str> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if let Some(title) = trimmed.strip_prefix("# ").filter(|_| card.title.is_none()) {
            card.title = Some(title.trim().to_string());
        } else if let Some(field) = trimmed.strip_prefix("| ") {
            let (name, value) = field.split_once(" | ").unwrap_or((field, ""));
            let (name, value) = (name.trim(), value.trim().trim_end_matches('|').trim());
            // A field whose value rendered empty (data absent) is left out.
            if !name.is_empty() && !value.is_empty() {
                card.fields.push((name.to_string(), value.to_string()));
            }
        } else if let Some(context) = trimmed.strip_prefix("-- ") {
            card.context = Some(context.trim().to_string());
        } else if let Some(l) = link(trimmed) {
            card.links.push(l);
        } else {
            body.push(line);
        }
    }
    card.body = body.join("\n").trim().to_string();
    if let Some(s) = step {
        card.severity = s.severity;
        card.mention = s.mention.clone();
        card.acknowledge = s.acknowledge;
    }
    card
}

/// Every string in `value` with Slack's three characters escaped.
pub fn escape_strings(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
        ),
        Value::Array(items) => Value::Array(items.iter().map(escape_strings).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), escape_strings(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_the_parts_of_a_card() {
        let card = parse(
            "# Warranty ending: Engine\nThe *Engine* warranty ends.\nSecond line.\n| Boat | Sea Breeze\n| Provider | \n-- NaviDocs\n[Review in NaviDocs](https://app.navidocs.example/w/1?a=1&amp;b=2)\n[bad](javascript:alert(1))",
            None,
        );
        assert_eq!(card.title.as_deref(), Some("Warranty ending: Engine"));
        assert_eq!(
            card.fields,
            vec![("Boat".to_string(), "Sea Breeze".to_string())]
        );
        assert_eq!(card.context.as_deref(), Some("NaviDocs"));
        assert_eq!(
            card.links,
            vec![(
                "Review in NaviDocs".to_string(),
                "https://app.navidocs.example/w/1?a=1&b=2".to_string()
            )]
        );
        // A link that is not http(s) stays text, never a button.
        assert_eq!(
            card.body,
            "The *Engine* warranty ends.\nSecond line.\n[bad](javascript:alert(1))"
        );
    }

    #[test]
    fn data_strings_are_escaped_everywhere_they_nest() {
        let v = serde_json::json!({"a": "<!channel> & co", "b": [{"c": "<@U1>"}], "n": 3});
        assert_eq!(
            escape_strings(&v),
            serde_json::json!({"a": "&lt;!channel&gt; &amp; co", "b": [{"c": "&lt;@U1&gt;"}], "n": 3})
        );
    }
}
