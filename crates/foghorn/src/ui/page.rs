//! The dashboard's pages as HTML: templates compiled into the binary,
//! rendered with MiniJinja (the engine the message templates use), each
//! answer with headers that keep a page from being framed, sniffed or made
//! to run scripts.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{context, Environment, Value};
use std::sync::OnceLock;

/// Every template, by name; `layout.html` frames the others.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("tenants.html", include_str!("templates/tenants.html")),
    (
        "notifications.html",
        include_str!("templates/notifications.html"),
    ),
    (
        "notification.html",
        include_str!("templates/notification.html"),
    ),
    ("dlq.html", include_str!("templates/dlq.html")),
    ("providers.html", include_str!("templates/providers.html")),
    ("workflows.html", include_str!("templates/workflows.html")),
    ("workflow.html", include_str!("templates/workflow.html")),
    (
        "subscribers.html",
        include_str!("templates/subscribers.html"),
    ),
    ("sandbox.html", include_str!("templates/sandbox.html")),
    ("costs.html", include_str!("templates/costs.html")),
    ("audit.html", include_str!("templates/audit.html")),
    (
        "preferences.html",
        include_str!("templates/preferences.html"),
    ),
];

pub const STYLESHEET: &str = include_str!("templates/ui.css");
/// The one script: the workflow preview follows the form as it is typed
/// in. Every page works without it.
pub const SCRIPT: &str = include_str!("templates/ui.js");

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates ship with the binary; a broken one fails the
            // unit test that renders them all, never a request.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "dashboard template does not compile");
            }
        }
        env
    })
}

/// A rendered page and its status.
#[derive(Debug)]
pub struct Html(pub StatusCode, pub String);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        let mut res = (self.0, self.1).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        // Only the dashboard's own script, nothing inline; the captured
        // emails' own styles may apply inside their sandboxed frames (which
        // run no script at all).
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; connect-src 'self'; \
                 style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                 form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// `name` rendered with `ctx`.
pub fn render(name: &str, ctx: Value) -> Html {
    match environment().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(body) => Html(StatusCode::OK, body),
        Err(e) => {
            tracing::error!(template = name, error = %e, "dashboard page did not render");
            failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "This page could not be shown.",
            )
        }
    }
}

/// An error page saying `message`.
pub fn failure(status: StatusCode, message: &str) -> Html {
    let body = environment()
        .get_template("error.html")
        .and_then(|t| {
            t.render(context! {
                title => status.canonical_reason().unwrap_or("Error"),
                status => status.as_u16(),
                message,
            })
        })
        .unwrap_or_else(|_| message.to_string());
    Html(status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let env = environment();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name} does not compile");
        }
        let page = failure(StatusCode::NOT_FOUND, "No <such> page");
        assert_eq!(page.0, StatusCode::NOT_FOUND);
        assert!(page.1.contains("No &lt;such&gt; page"), "{}", page.1);
    }
}
