//! The workflow document as users write it.

use foghorn_core::Channel;
use serde::{Deserialize, Serialize};

/// What an event becomes. `name` is the event name it answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub name: String,
    /// For subscriber preferences (e.g. `warranty`, `safety`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Critical events bypass quiet hours and caps.
    #[serde(default)]
    pub critical: bool,
    /// A reminder series: the person steps are planned once per offset
    /// from the date in `data.<anchor>` (`["-90d", "-30d", "-7d"]`), at
    /// `at` in the person's zone. Needs the event's `grouping_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<String>>,
    /// A series' local time of day, `HH:MM` (10:00 unless said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The field of `data` holding a series' date (`expires_on` unless said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// Workflows whose pending notifications with this event's grouping key
    /// it cancels (`warranty.renewed` cancels `warranty.expiring`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancels: Vec<String>,
    /// At most so many notifications of the category per window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttle: Vec<super::noise::Throttle>,
    /// The same alert (workflow, step, recipient and data) again inside
    /// this window (`1h`) is suppressed as a duplicate of the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe: Option<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl Workflow {
    /// The series' offsets, when it plans one.
    pub fn series(&self) -> Option<&[String]> {
        self.series.as_deref().filter(|s| !s.is_empty())
    }
}

/// One channel of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub channel: Channel,
    /// Template folder (`templates/NAME/email.subject`, …); inline fields
    /// below take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Channel to continue on when every provider of this one failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Channel>,
    /// MiniJinja expression over `data` and `event`; the step runs when true.
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Team destination (webhook, Slack, Discord): the step goes here
    /// instead of to the event's subscribers. `env:NAME` is resolved at load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Slack and Discord: a channel id (`C0123456789`, a Discord channel's
    /// digits) the app's bot posts to, in threads per grouping key, instead
    /// of a webhook; or `#name`, a destination the tenant names in
    /// `PUT /v1/destinations` (the account's webhook while it names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^([A-Za-z0-9]{1,80}|#[a-z0-9_-]{1,40})$")
    )]
    pub destination: Option<String>,
    /// Slack and Discord: who the message pings, and only them: a Discord
    /// role `<@&ID>` or user `<@ID>`, a Slack user group
    /// `<!subteam^ID>`, user `<@U…>`, or `<!here>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mention: Option<String>,
    /// Slack and Discord: the colour and mark of the card.
    #[serde(default, skip_serializing_if = "is_info")]
    pub severity: foghorn_core::Severity,
    /// Slack and Discord: Acknowledge and Dismiss buttons on the message.
    /// Email and SMS: templates get `acknowledge_url`, a signed link whose
    /// page acknowledges the notification.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acknowledge: bool,
    /// Try other channels while the person has not acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate: Option<Escalate>,
    /// Collect this step's events into one message per person and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<super::noise::Digest>,
    /// WhatsApp: the approved template that starts the conversation (a
    /// business may send free-form text only to someone who wrote in the
    /// last 24 hours); `params` are templates over the event, like `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp_template: Option<WhatsappTemplate>,
    /// Inline templates, for workflows managed entirely through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Inline JSON body template for webhook steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// SMS: the most segments a message may take; a longer text is cut to
    /// fit, ending in an ellipsis (the NaviDocs pack aims at 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_segments: Option<u32>,
    /// SMS: rewrite the URLs in the text to short `{public_url}/l/{code}`
    /// links that record a click before redirecting.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub short_links: bool,
}

/// `escalate = { after = "15m", to = ["sms", "voice"], until = "acknowledged", max = 3 }`:
/// `after` each period without an acknowledgement the next channel of `to`
/// is tried (the last one again once the list is spent), `max` times in
/// all; an acknowledgement by any channel cancels what is still waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Escalate {
    /// A duration: `90s`, `15m`, `1h`.
    #[cfg_attr(feature = "openapi", schema(example = "15m"))]
    pub after: String,
    pub to: Vec<Channel>,
    /// The one condition there is: `acknowledged`.
    #[serde(default = "until_acknowledged")]
    pub until: String,
    /// How many escalations at most (1 to 10).
    #[serde(default = "one")]
    pub max: u32,
}

/// `whatsapp_template = { name = "recall_notice", language = "en_US", params = ["{{ data.boat }}"] }`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WhatsappTemplate {
    /// The template's name as approved (lower-case, digits, `_`).
    pub name: String,
    /// The approved language's code: `en_US`, `fr`, `de`.
    pub language: String,
    /// The body parameters `{{1}}`, `{{2}}` … in order, each a template.
    #[serde(default)]
    pub params: Vec<String>,
    /// The same template in Twilio's Content API (`HX` and 32 hex
    /// digits), for when a Twilio number sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sid: Option<String>,
}

impl WhatsappTemplate {
    /// What is wrong with it, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 512
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let language_ok = (2..=10).contains(&self.language.len())
            && self
                .language
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'_');
        if !name_ok {
            Some("whatsapp_template.name is the approved name: lower-case letters, digits and _")
        } else if !language_ok {
            Some("whatsapp_template.language is a code such as en_US or fr")
        } else if self.content_sid.as_deref().is_some_and(|sid| {
            sid.len() != 34
                || !sid.starts_with("HX")
                || !sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
        }) {
            Some("whatsapp_template.content_sid is a Twilio Content SID: HX and 32 hex digits")
        } else if self.params.len() > 20 {
            Some("whatsapp_template.params holds at most 20 parameters")
        } else {
            None
        }
    }
}

fn until_acknowledged() -> String {
    "acknowledged".into()
}

fn one() -> u32 {
    1
}

impl Escalate {
    /// The escalations in order: (round from 1, channel, delay after the
    /// notification it escalates, in ms). Only for a checked document.
    pub fn rounds(&self) -> Vec<(u32, Channel, i64)> {
        let every = crate::config::parse_duration(&self.after)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        (1..=self.max)
            .filter_map(|k| {
                let i = (k as usize - 1).min(self.to.len().checked_sub(1)?);
                Some((k, self.to[i], every * i64::from(k)))
            })
            .collect()
    }

    /// What is wrong with it, if anything.
    pub fn problem(&self) -> Option<String> {
        let after = crate::config::parse_duration(&self.after).ok();
        if !after.is_some_and(|d| {
            d >= std::time::Duration::from_secs(1)
                && d <= std::time::Duration::from_secs(7 * 86_400)
        }) {
            return Some("escalate.after must be a duration from 1s to 7d, such as 15m".into());
        }
        if self.to.is_empty() || self.to.len() > 5 {
            return Some("escalate.to names 1 to 5 channels".into());
        }
        if let Some(c) = self.to.iter().find(|c| c.is_team_destination()) {
            return Some(format!(
                "escalate.to reaches the person: email, sms, voice or whatsapp, not {c}"
            ));
        }
        if self.until != "acknowledged" {
            return Some("escalate.until is `acknowledged`".into());
        }
        if !(1..=10).contains(&self.max) {
            return Some("escalate.max is 1 to 10".into());
        }
        None
    }
}

fn is_info(s: &foghorn_core::Severity) -> bool {
    *s == foghorn_core::Severity::Info
}

/// A mention a step may make: one person, one group, or `<!here>`; never
/// everyone in a server or workspace.
pub fn valid_mention(m: &str) -> bool {
    let inner = |s: &str, prefix: &str| {
        s.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix('>'))
            .is_some_and(|id| {
                !id.is_empty() && id.len() <= 40 && id.bytes().all(|b| b.is_ascii_alphanumeric())
            })
    };
    !m.is_empty()
        && m.split_whitespace().count() <= 5
        && m.split_whitespace().all(|part| {
            part == "<!here>"
                || inner(part, "<@&")
                || inner(part, "<@")
                || inner(part, "<!subteam^")
        })
}

/// A chat channel's id as Slack and Discord write them: letters and digits.
pub fn valid_channel_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 80 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A name a tenant gives a destination (`alerts`, `boat-docs`).
pub fn valid_destination_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Step {
    /// The tenant's name for where this step goes, for `destination = "#name"`.
    pub fn named_destination(&self) -> Option<&str> {
        self.destination.as_deref()?.strip_prefix('#')
    }

    /// Team steps need no `to` on the event.
    pub fn is_team(&self) -> bool {
        self.channel.is_team_destination()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_mentions_are_what_slack_and_discord_write() {
        for ok in ["alerts", "boat-docs", "ops_2"] {
            assert!(valid_destination_name(ok), "{ok}");
        }
        for bad in ["", "Alerts", "#alerts", "a b", "../x", &"a".repeat(41)] {
            assert!(!valid_destination_name(bad), "{bad}");
        }
        assert!(valid_channel_id("C0123456789") && valid_channel_id("1100000000000000001"));
        assert!(
            !valid_channel_id("")
                && !valid_channel_id("C01/../x")
                && !valid_channel_id(&"1".repeat(81))
        );
        for ok in [
            "<@&42>",
            "<@U0OWNER>",
            "<!subteam^S0MECH>",
            "<!here>",
            "<@&1> <@&2>",
        ] {
            assert!(valid_mention(ok), "{ok}");
        }
        for bad in [
            "@everyone",
            "<!channel>",
            "<!everyone>",
            "<@&>",
            "<@&4 2>",
            "hi <@&42>",
        ] {
            assert!(!valid_mention(bad), "{bad}");
        }
    }
}
