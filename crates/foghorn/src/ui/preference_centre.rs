//! `GET/POST /p/{token}`: the preference centre. A person arrives from an
//! email's footer, an unsubscribe page or an SMS HELP reply; the signed,
//! expiring token in the link names one subscriber of one tenant and is
//! the only authority (no login). The page shows the channels and the
//! tenant's topics with the person's current choices, in the person's
//! language; saving records each changed choice in the consent ledger
//! (source `preference-centre`) with an audit row, through the same store
//! call the API's `PUT …/preferences` makes.

use super::i18n::{words, Words};
use super::page::{render, Html};
use crate::api::extract::ApiPath;
use crate::api::preferences::{summary, PERSON_CHANNELS};
use crate::api::AppState;
use crate::unsubscribe::token::{self, Claims, TokenError};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use foghorn_core::Channel;
use foghorn_store::{Audit, Choice, PreferenceChange};
use minijinja::{context, Value};
use std::sync::Arc;

fn now_secs() -> i64 {
    foghorn_core::clock::now_ms() / 1000
}

/// The claims of a token that names a subscriber, or the page saying why
/// not (in English: an unreadable token names no language).
fn claims(state: &AppState, token: &str) -> Result<(Claims, String), Html> {
    let refuse = |status: StatusCode, w: &'static Words, message: &str| {
        let mut page = render("preferences.html", context! { w, problem => message });
        page.0 = status;
        page
    };
    let en = words(None);
    match token::verify(state.store.crypto(), token, now_secs()) {
        Ok(c) => match c.subscriber.clone() {
            Some(id) => Ok((c, id)),
            None => Err(refuse(StatusCode::BAD_REQUEST, en, en.invalid)),
        },
        Err(TokenError::Expired) => Err(refuse(StatusCode::GONE, en, en.expired)),
        Err(TokenError::Invalid) => Err(refuse(StatusCode::BAD_REQUEST, en, en.invalid)),
    }
}

/// Everything the page shows, for this person now.
struct Shown {
    w: &'static Words,
    sender: String,
    prefs: crate::api::preferences::Preferences,
    labels: Vec<(String, String, bool)>,
}

async fn shown(state: &AppState, c: &Claims, id: &str) -> Result<Shown, Html> {
    let gone = || {
        let w = words(None);
        let mut page = render("preferences.html", context! { w, problem => w.invalid });
        page.0 = StatusCode::NOT_FOUND;
        page
    };
    let row = match state.store.subscriber(&c.tenant, id).await {
        Ok(Some(r)) => r,
        _ => return Err(gone()),
    };
    let w = words(row.contact.locale.as_deref());
    // The subscriber, their choices and the tenant's policy, each read once
    // (the API's `current` would read the first and last again).
    let choices = state
        .store
        .choices(&c.tenant, id)
        .await
        .map_err(|_| gone())?;
    let policy = state
        .store
        .tenant_policy(&c.tenant)
        .await
        .map_err(|_| gone())?;
    let prefs = summary(
        &choices,
        row.quiet_hours.as_deref(),
        row.contact.timezone.as_deref(),
        &policy,
    );
    let sender = match state.store.tenant(&c.tenant).await {
        Ok(Some(t)) if !t.name.is_empty() => t.name,
        _ => c.tenant.to_string(),
    };
    let labels = prefs
        .categories
        .keys()
        .map(|k| {
            let cat = policy.categories.get(k);
            let label = cat
                .and_then(|c| c.label.clone())
                .unwrap_or_else(|| k.clone());
            (k.clone(), label, cat.is_some_and(|c| c.marketing))
        })
        .collect();
    Ok(Shown {
        w,
        sender,
        prefs,
        labels,
    })
}

fn view(token: &str, s: &Shown, notice: Option<&str>) -> Html {
    let channels: Vec<Value> = PERSON_CHANNELS
        .iter()
        .map(|&c| {
            context! { key => c.to_string(), name => s.w.channel(c),
            on => s.prefs.channels.get(&c).copied().unwrap_or(true) }
        })
        .collect();
    let topics: Vec<Value> = s
        .labels
        .iter()
        .map(|(key, label, marketing)| {
            let cells: Vec<Value> = PERSON_CHANNELS
                .iter()
                .map(|&c| {
                    let on = s
                        .prefs
                        .categories
                        .get(key)
                        .and_then(|m| m.get(&c))
                        .copied()
                        .unwrap_or(false);
                    context! { channel => c.to_string(), name => s.w.channel(c), on }
                })
                .collect();
            context! { key, label, marketing, cells }
        })
        .collect();
    let marketing = s.labels.iter().any(|l| l.2);
    render(
        "preferences.html",
        context! { w => s.w, token, sender => s.sender.clone(), channels, topics, marketing,
        notice, channel_names => PERSON_CHANNELS.iter().map(|c| s.w.channel(*c)).collect::<Vec<_>>() },
    )
}

/// Show the person's choices
pub async fn page(
    State(state): State<Arc<AppState>>,
    ApiPath(token): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> Html {
    let (c, id) = match claims(&state, &token) {
        Ok(x) => x,
        Err(p) => return p,
    };
    let s = match shown(&state, &c, &id).await {
        Ok(s) => s,
        Err(p) => return p,
    };
    let notice = match raw.as_deref() {
        Some("saved=1") => Some(s.w.saved),
        Some("unsubscribed=1") => Some(s.w.unsubscribed),
        _ => None,
    };
    view(&token, &s, notice)
}

/// The changes a submitted form makes: each shown box whose state differs
/// from the current one (an unticked box is absent from a form).
fn changes(s: &Shown, form: &[(String, String)]) -> Vec<Choice> {
    let ticked = |name: &str| form.iter().any(|(k, _)| k == name);
    if ticked("everything") {
        return PERSON_CHANNELS
            .iter()
            .filter(|c| s.prefs.channels.get(c).copied().unwrap_or(true))
            .map(|&channel| Choice {
                channel,
                category: String::new(),
                wanted: false,
            })
            .collect();
    }
    let mut out = Vec::new();
    for &channel in &PERSON_CHANNELS {
        let wanted = ticked(&format!("channel:{channel}"));
        if s.prefs.channels.get(&channel).copied().unwrap_or(true) != wanted {
            out.push(Choice {
                channel,
                category: String::new(),
                wanted,
            });
        }
    }
    for (key, _, _) in &s.labels {
        for &channel in &PERSON_CHANNELS {
            let now = s
                .prefs
                .categories
                .get(key)
                .and_then(|m| m.get(&channel))
                .copied()
                .unwrap_or(false);
            let wanted = ticked(&format!("topic:{key}:{channel}"));
            // A topic cannot be wanted on a channel given up as a whole;
            // the channel's own box decides that.
            let channel_on = ticked(&format!("channel:{channel}"));
            if now != wanted && channel_on {
                out.push(Choice {
                    channel,
                    category: key.clone(),
                    wanted,
                });
            }
        }
    }
    out
}

/// Save the person's choices
pub async fn save(
    State(state): State<Arc<AppState>>,
    ApiPath(token): ApiPath<String>,
    body: Bytes,
) -> Response {
    let (c, id) = match claims(&state, &token) {
        Ok(x) => x,
        Err(p) => return p.into_response(),
    };
    let s = match shown(&state, &c, &id).await {
        Ok(s) => s,
        Err(p) => return p.into_response(),
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let everything = form.iter().any(|(k, _)| k == "everything");
    let choices = changes(&s, &form);
    let marketing_sms = choices.iter().any(|ch| {
        ch.wanted
            && ch.channel == Channel::Sms
            && s.labels.iter().any(|(k, _, m)| *m && *k == ch.category)
    });
    if !choices.is_empty() {
        let detail = serde_json::json!({
            "via": "preference-centre",
            "notification_id": c.notification,
            "changes": choices.len(),
            "everything": everything,
        });
        let audit = Audit::new("recipient:preference-centre", "subscriber.preferences", &id)
            .with_detail(detail);
        let change = PreferenceChange {
            choices,
            quiet_hours: None,
            source: "preference-centre".into(),
            consent_text: marketing_sms.then(|| s.w.marketing_sms.to_string()),
        };
        let saved = state
            .store
            .put_preferences(
                &c.tenant,
                &id,
                &change,
                &audit,
                foghorn_core::clock::now_ms(),
            )
            .await;
        if !matches!(saved, Ok(true)) {
            let mut page = view(&token, &s, None);
            page.0 = StatusCode::SERVICE_UNAVAILABLE;
            return page.into_response();
        }
    }
    let done = if everything {
        "unsubscribed=1"
    } else {
        "saved=1"
    };
    Redirect::to(&format!("/p/{token}?{done}")).into_response()
}
