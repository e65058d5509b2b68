//! `GET/POST /a/{token}`: the acknowledgement link of an email or SMS. No
//! login: the signed token is the authority. GET only shows a page with a
//! button (link scanners and previews fetch URLs; they must not speak for
//! the reader); the POST acknowledges, for everything the person was sent
//! about the event, and cancels the escalations still waiting. A repeat
//! says it was already acknowledged, and changes nothing.

use super::extract::ApiPath;
use super::problem::ApiError;
use super::unsubscribe::{escape, html, wants_json};
use super::AppState;
use crate::engine::acknowledge::{self, LinkError};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Acknowledged {
    pub notification_id: String,
    /// When it was first acknowledged (ms since the epoch).
    pub acknowledged_at: i64,
    /// How: `link`, `voice`, `sms reply`, `slack` …
    pub via: String,
    /// True when it had been acknowledged before this request.
    pub already: bool,
}

fn now_secs() -> i64 {
    foghorn_core::clock::now_ms() / 1000
}

/// A link that is not genuine names no acknowledgement there is: 404, so
/// nothing tells a prober a token was close.
fn link_error(e: LinkError) -> ApiError {
    match e {
        LinkError::Invalid => ApiError {
            status: StatusCode::NOT_FOUND,
            ..ApiError::invalid_link()
        },
        LinkError::Expired => ApiError::expired_link(),
    }
}

fn failure(e: ApiError, json: bool) -> Response {
    if json {
        return e.into_response();
    }
    let text = match e.status {
        StatusCode::GONE => {
            "This link has expired. Use the link in a more recent message, or contact the sender."
        }
        StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => {
            "This link is not valid. Check that it was copied whole."
        }
        _ => "Something went wrong; nothing was changed. Please try again later.",
    };
    html(
        e.status,
        e.title,
        &format!("<h1>{}</h1>\n<p>{text}</p>", escape(e.title)),
    )
}

/// Show the acknowledgement page
///
/// A page with one button; showing it changes nothing.
#[utoipa::path(get, path = "/a/{token}", tag = "acknowledge",
    params(("token" = String, Path, description = "The signed token from the message's link")),
    responses((status = 200, description = "A page whose button POSTs the acknowledgement", content_type = "text/html", body = String),
        (status = 404, description = "The link is not valid",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json"))),
        (status = 410, description = "The link has expired",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json")))))]
pub async fn page(
    State(state): State<Arc<AppState>>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Response {
    let json = wants_json(&headers);
    if let Err(e) = acknowledge::verify(state.store.crypto(), &token, now_secs()) {
        return failure(link_error(e), json);
    }
    html(
        StatusCode::OK,
        "Confirm you have read this notice",
        "<h1>Confirm you have read this notice</h1>\n\
         <p>Press the button to let the sender know you received it; they will stop trying to reach you about it.</p>\n\
         <form method=\"post\"><button type=\"submit\">I have read it</button></form>",
    )
}

/// Acknowledge (the page's button)
#[utoipa::path(post, path = "/a/{token}", tag = "acknowledge",
    params(("token" = String, Path, description = "The signed token from the message's link")),
    responses((status = 200, description = "Acknowledged (a page, or JSON when the client asks for it)",
            content((String = "text/html"), (Acknowledged = "application/json"))),
        (status = 404, description = "The link is not valid, or its notification is gone",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json"))),
        (status = 410, description = "The link has expired",
            content((String = "text/html"), (super::problem::Problem = "application/problem+json")))))]
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> Response {
    let json = wants_json(&headers);
    let claims = match acknowledge::verify(state.store.crypto(), &token, now_secs()) {
        Ok(c) => c,
        Err(e) => return failure(link_error(e), json),
    };
    let done = acknowledge::acknowledge(
        &state.store,
        &claims.tenant,
        &claims.id,
        "recipient (link)",
        "link",
    )
    .await;
    let ack = match done {
        Ok(Some(a)) => {
            state.team.tell_alerts(&claims.tenant, &a);
            a
        }
        Ok(None) => return failure(ApiError::not_found("notification"), json),
        Err(e) => return failure(e.into(), json),
    };
    if json {
        return axum::Json(Acknowledged {
            notification_id: claims.id,
            acknowledged_at: ack.at,
            via: ack.via,
            already: !ack.first,
        })
        .into_response();
    }
    let (title, text) = if ack.first {
        ("Thank you", "The sender knows you received this notice.")
    } else {
        (
            "Already acknowledged",
            "This notice had already been acknowledged; nothing changed.",
        )
    };
    html(
        StatusCode::OK,
        title,
        &format!("<h1>{title}</h1>\n<p>{text}</p>"),
    )
}
