//! Turning a workflow step and an event into the message a provider sends.

use super::CompiledWorkflow;
use foghorn_core::{Channel, Rendered};
use minijinja::{Environment, ErrorKind};
use serde::Serialize;
use std::io;
use std::sync::Arc;

/// Instructions one template part may execute. The pack's longest email
/// takes a few thousand; a tenant's template that loops past this is
/// stopped instead of holding a core (and the request or worker waiting on
/// it).
pub const FUEL: u64 = 2_000_000;
/// Bytes one rendered part may have: a message far larger than any
/// provider accepts is a template bug or an attack, not a message.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// Nesting of includes, macros and blocks.
const RECURSION_LIMIT: usize = 32;

/// Puts every environment a workflow renders with on the same budget.
pub(crate) fn limit(env: &mut Environment<'_>) {
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
}

/// Collects a rendered part, refusing to grow past [`MAX_OUTPUT_BYTES`].
struct Capped(Vec<u8>);

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT_BYTES {
            return Err(io::Error::other("output too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("step {0} does not exist")]
    NoStep(usize),
    #[error("no `{0}` template for this step")]
    Missing(String),
    #[error("template `{name}`: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("webhook body template did not produce JSON: {0}")]
    NotJson(serde_json::Error),
    /// Over the rendering budget: too many instructions, too deep, or too
    /// much output. The same on every attempt, so never retried.
    #[error("template `{name}` is over the rendering budget: {what}")]
    Budget { name: String, what: String },
}

impl RenderError {
    pub fn is_budget(&self) -> bool {
        matches!(self, RenderError::Budget { .. })
    }

    fn of(name: &str, source: minijinja::Error) -> RenderError {
        let what = match source.kind() {
            ErrorKind::OutOfFuel => Some(format!("more than {FUEL} instructions")),
            ErrorKind::WriteFailure => {
                Some(format!("more than {MAX_OUTPUT_BYTES} bytes of output"))
            }
            _ if source.to_string().contains("recursion") => {
                Some(format!("nested deeper than {RECURSION_LIMIT}"))
            }
            _ => None,
        };
        match what {
            Some(what) => RenderError::Budget {
                name: name.to_string(),
                what,
            },
            None => RenderError::Template {
                name: name.to_string(),
                source,
            },
        }
    }
}

/// A [`RenderContext`] that owns its values, to move onto a blocking
/// thread.
#[derive(Debug, Clone)]
pub struct OwnedContext {
    pub event_id: String,
    pub event_name: String,
    pub data: serde_json::Value,
    pub recipient: serde_json::Value,
    pub notification_id: String,
    pub locale: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub preferences_url: Option<String>,
    pub acknowledge_url: Option<String>,
}

impl OwnedContext {
    pub fn of(ctx: &RenderContext<'_>) -> OwnedContext {
        OwnedContext {
            event_id: ctx.event.id.to_string(),
            event_name: ctx.event.name.to_string(),
            data: ctx.data.clone(),
            recipient: ctx.recipient.clone(),
            notification_id: ctx.notification_id.to_string(),
            locale: ctx.locale.map(str::to_string),
            unsubscribe_url: ctx.unsubscribe_url.map(str::to_string),
            preferences_url: ctx.preferences_url.map(str::to_string),
            acknowledge_url: ctx.acknowledge_url.map(str::to_string),
        }
    }

    pub fn borrow(&self) -> RenderContext<'_> {
        RenderContext {
            event: EventFacts {
                id: &self.event_id,
                name: &self.event_name,
            },
            data: &self.data,
            recipient: &self.recipient,
            notification_id: &self.notification_id,
            locale: self.locale.as_deref(),
            unsubscribe_url: self.unsubscribe_url.as_deref(),
            preferences_url: self.preferences_url.as_deref(),
            acknowledge_url: self.acknowledge_url.as_deref(),
        }
    }
}

/// What templates see.
#[derive(Debug, Serialize)]
pub struct RenderContext<'a> {
    pub event: EventFacts<'a>,
    pub data: &'a serde_json::Value,
    pub recipient: &'a serde_json::Value,
    pub notification_id: &'a str,
    /// The locale the templates were chosen for (`fr-FR`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<&'a str>,
    /// Email: the one-click unsubscribe link, for footers. Absent (so
    /// `unsubscribe_url is defined` is false) for critical workflows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribe_url: Option<&'a str>,
    /// Email to a stored subscriber: the preference centre, for footers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferences_url: Option<&'a str>,
    /// Email and SMS of a step that asks for an acknowledgement (or
    /// escalates): the signed link whose page acknowledges it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledge_url: Option<&'a str>,
}

/// Template folders to try for a locale, most specific first: `fr-FR` →
/// `fr-FR`, `fr`. Localised templates live in a subfolder named after the
/// locale (`templates/NAME/fr/email.subject`); the files directly in
/// `templates/NAME/` are the English default every locale falls back to.
pub fn locale_folders(locale: Option<&str>) -> Vec<String> {
    let Some(tag) = locale.map(str::trim).filter(|l| !l.is_empty()) else {
        return Vec::new();
    };
    let mut parts = tag.split(['-', '_']);
    let language = parts.next().unwrap_or_default().to_ascii_lowercase();
    let valid =
        |s: &str| !s.is_empty() && s.len() <= 8 && s.chars().all(|c| c.is_ascii_alphanumeric());
    if !valid(&language) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(region) = parts.next().filter(|r| valid(r)) {
        let region = if region.len() == 2 {
            region.to_ascii_uppercase()
        } else {
            region.to_string()
        };
        out.push(format!("{language}-{region}"));
    }
    out.push(language);
    out
}

#[derive(Debug, Serialize)]
pub struct EventFacts<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// Template names in the environment: `FOLDER/CHANNEL.PART` for files,
/// `inline/STEP/PART` for templates written into the document.
pub(crate) fn part_names(channel: Channel) -> &'static [(&'static str, &'static str)] {
    match channel {
        Channel::Email => &[
            ("subject", "email.subject"),
            ("html", "email.html"),
            ("text", "email.txt"),
        ],
        Channel::Sms => &[("text", "sms.txt")],
        Channel::Voice => &[("text", "voice.txt")],
        Channel::Whatsapp => &[("text", "whatsapp.txt")],
        Channel::Slack => &[("text", "slack.txt")],
        Channel::Discord => &[("text", "discord.txt")],
        Channel::Webhook => &[("body", "webhook.json")],
    }
}

impl CompiledWorkflow {
    /// The environment name of a step's template part, if one exists.
    pub(crate) fn template_name(
        &self,
        step: usize,
        channel: Channel,
        part: &str,
    ) -> Option<String> {
        self.localized_template_name(step, channel, part, None)
    }

    /// Like [`Self::template_name`], preferring the locale's own file.
    pub(crate) fn localized_template_name(
        &self,
        step: usize,
        channel: Channel,
        part: &str,
        locale: Option<&str>,
    ) -> Option<String> {
        let s = self.doc.steps.get(step)?;
        let inline = match part {
            "subject" => s.subject.is_some(),
            "html" => s.html.is_some(),
            "text" => s.text.is_some(),
            "body" => s.body.is_some(),
            _ => false,
        };
        // Part names are channel-specific (only email asks for a subject),
        // so inline `text` also serves a fallback channel's text.
        if inline {
            return Some(format!("inline/{step}/{part}"));
        }
        let folder = s.template.as_deref()?;
        let file = part_names(channel).iter().find(|(p, _)| *p == part)?.1;
        locale_folders(locale)
            .into_iter()
            .map(|l| format!("{folder}/{l}/{file}"))
            .chain(std::iter::once(format!("{folder}/{file}")))
            .find(|name| self.env.get_template(name).is_ok())
    }

    /// Does the step's `if` hold for this event?
    pub fn step_applies(&self, step: usize, ctx: &serde_json::Value) -> Result<bool, RenderError> {
        let Some(cond) = self
            .doc
            .steps
            .get(step)
            .and_then(|s| s.condition.as_deref())
        else {
            return Ok(true);
        };
        let expr = self
            .env
            .compile_expression(cond)
            .map_err(|source| RenderError::Template {
                name: format!("steps[{step}].if"),
                source,
            })?;
        let v = expr
            .eval(ctx)
            .map_err(|source| RenderError::of(&format!("steps[{step}].if"), source))?;
        Ok(v.is_true())
    }

    /// [`Self::render`], with a tenant's templates on a blocking thread so
    /// one at the edge of its budget holds no async worker (and no health
    /// check waits on it). The operator's own templates (the pack, files)
    /// render in place: the hop costs every delivery, and the budget
    /// bounds them all the same.
    pub async fn render_off_runtime(
        self: &Arc<Self>,
        step: usize,
        channel: Channel,
        ctx: &RenderContext<'_>,
    ) -> Result<Rendered, RenderError> {
        if !self.from_tenant() {
            return self.render(step, channel, ctx);
        }
        let owned = OwnedContext::of(ctx);
        let workflow = self.clone();
        tokio::task::spawn_blocking(move || workflow.render(step, channel, &owned.borrow()))
            .await
            .unwrap_or_else(|e| {
                Err(RenderError::Budget {
                    name: format!("steps[{step}]"),
                    what: format!("rendering stopped: {e}"),
                })
            })
    }

    /// Renders every step (and its fallback) with `data` under the budget,
    /// so a workflow that cannot render within it is refused when it is
    /// written. Only budget failures count: other errors depend on data.
    pub async fn trial(
        self: &Arc<Self>,
        data: &serde_json::Value,
    ) -> Result<(), (usize, RenderError)> {
        let recipient = serde_json::json!({});
        let ctx = RenderContext {
            event: EventFacts {
                id: "evt_trial",
                name: &self.doc.name,
            },
            data,
            recipient: &recipient,
            notification_id: "ntf_trial",
            locale: None,
            unsubscribe_url: None,
            preferences_url: None,
            acknowledge_url: Some("https://foghorn.example/a/trial"),
        };
        let cond_ctx = serde_json::json!({"data": data, "event": {"name": &self.doc.name}});
        for (i, s) in self.doc.steps.iter().enumerate() {
            if let Err(e) = self.step_applies(i, &cond_ctx) {
                if e.is_budget() {
                    return Err((i, e));
                }
            }
            for channel in std::iter::once(s.channel).chain(s.fallback) {
                match self.render_off_runtime(i, channel, &ctx).await {
                    Err(e) if e.is_budget() => return Err((i, e)),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// A WhatsApp template's parameters, each rendered like a one-line
    /// text (trimmed, line breaks as spaces: Meta refuses them in
    /// parameters).
    fn render_template_params(
        &self,
        t: &super::document::WhatsappTemplate,
        ctx: &RenderContext<'_>,
    ) -> Result<foghorn_core::MessageTemplate, RenderError> {
        let mut params = Vec::with_capacity(t.params.len());
        for (k, param) in t.params.iter().enumerate() {
            let name = format!("whatsapp_template.params[{k}]");
            let tmpl =
                self.env
                    .template_from_str(param)
                    .map_err(|source| RenderError::Template {
                        name: name.clone(),
                        source,
                    })?;
            let mut out = Capped(Vec::new());
            tmpl.render_captured_to(ctx, &mut out)
                .map_err(|source| RenderError::of(&name, source))?;
            let text = String::from_utf8_lossy(&out.0);
            params.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        Ok(foghorn_core::MessageTemplate {
            name: t.name.clone(),
            language: t.language.clone(),
            params,
            content_sid: t.content_sid.clone(),
        })
    }

    /// Renders step `step` for `channel` (the step's own, or its fallback).
    pub fn render(
        &self,
        step: usize,
        channel: Channel,
        ctx: &RenderContext<'_>,
    ) -> Result<Rendered, RenderError> {
        if step >= self.doc.steps.len() {
            return Err(RenderError::NoStep(step));
        }
        // The tenant's mention for a named destination, written by the
        // tenant's admin, not by event data: it is not escaped.
        let route_mention = ctx
            .recipient
            .get("mention")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        // Slack's mrkdwn reads `<…>` as mentions and links: event data
        // and the recipient's fields are escaped before they reach it.
        let escaped;
        let ctx = if channel == Channel::Slack {
            escaped = (
                super::card::escape_strings(ctx.data),
                super::card::escape_strings(ctx.recipient),
            );
            &RenderContext {
                event: EventFacts {
                    id: ctx.event.id,
                    name: ctx.event.name,
                },
                data: &escaped.0,
                recipient: &escaped.1,
                notification_id: ctx.notification_id,
                locale: ctx.locale,
                unsubscribe_url: ctx.unsubscribe_url,
                preferences_url: ctx.preferences_url,
                acknowledge_url: ctx.acknowledge_url,
            }
        } else {
            ctx
        };
        let step_doc = &self.doc.steps[step];
        let mut out = Rendered::default();
        for (part, _) in part_names(channel) {
            let Some(name) = self.localized_template_name(step, channel, part, ctx.locale) else {
                continue;
            };
            let tmpl = self
                .env
                .get_template(&name)
                .map_err(|source| RenderError::Template {
                    name: name.clone(),
                    source,
                })?;
            let mut out_bytes = Capped(Vec::new());
            tmpl.render_captured_to(ctx, &mut out_bytes)
                .map_err(|source| RenderError::of(&name, source))?;
            let text = String::from_utf8_lossy(&out_bytes.0).into_owned();
            match *part {
                "subject" => out.subject = Some(text.trim().replace(['\r', '\n'], " ")),
                "html" => out.html = Some(text),
                "text" => out.text = Some(text.trim().to_string()),
                "body" => {
                    out.json = Some(serde_json::from_str(&text).map_err(RenderError::NotJson)?)
                }
                _ => {}
            }
        }
        match channel {
            Channel::Email if out.subject.is_none() => {
                return Err(RenderError::Missing("email.subject".into()))
            }
            Channel::Email if out.html.is_none() && out.text.is_none() => {
                return Err(RenderError::Missing("email.html or email.txt".into()))
            }
            Channel::Webhook if out.json.is_none() => {
                out.json = Some(serde_json::json!({
                    "type": ctx.event.name,
                    "event_id": ctx.event.id,
                    "notification_id": ctx.notification_id,
                    "data": ctx.data,
                }));
            }
            Channel::Webhook => {}
            Channel::Whatsapp if step_doc.whatsapp_template.is_some() => {
                out.template = step_doc
                    .whatsapp_template
                    .as_ref()
                    .map(|t| self.render_template_params(t, ctx))
                    .transpose()?;
            }
            _ if out.text.is_none() => {
                return Err(RenderError::Missing(format!("{channel} text")));
            }
            Channel::Slack | Channel::Discord => {
                let mut card = super::card::parse(
                    out.text.as_deref().unwrap_or_default(),
                    self.doc.steps.get(step),
                );
                if route_mention.is_some() {
                    card.mention = route_mention;
                }
                out.text = Some(card.fallback_text());
                out.card = Some(card);
            }
            _ => {}
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_fall_back_from_region_to_language() {
        assert_eq!(locale_folders(Some("fr-FR")), ["fr-FR", "fr"]);
        assert_eq!(locale_folders(Some("fr_fr")), ["fr-FR", "fr"]);
        assert_eq!(locale_folders(Some("FR")), ["fr"]);
        assert_eq!(locale_folders(Some("zh-Hant")), ["zh-Hant", "zh"]);
        assert!(locale_folders(Some("../etc")).is_empty());
        assert!(locale_folders(Some("")).is_empty());
        assert!(locale_folders(None).is_empty());
    }
}
