//! The OpenAPI document, generated from the handlers and types themselves.

use super::{
    admin, events, health, hooks, links, notifications, preview, problem, providers, reports,
    sandbox, subscribers, suppressions, unsubscribe, workflows,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key from `foghorn keys create`"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Foghorn", description = "Self-hosted multi-channel notifications: events in, notifications out."),
    paths(
        events::post_event, events::cancel,
        notifications::list, notifications::get, notifications::dlq, notifications::replay,
        subscribers::put, subscribers::get, subscribers::delete, subscribers::consents,
        workflows::list, workflows::get, workflows::put, preview::preview,
        reports::costs,
        unsubscribe::page, unsubscribe::confirm, links::follow,
        sandbox::messages,
        providers::put,
        providers::list,
        providers::get,
        providers::delete,
        suppressions::list, suppressions::delete,
        hooks::receive,
        admin::put_tenant, admin::get_tenant,
        health::healthz, health::readyz, health::metrics,
    ),
    components(schemas(problem::Problem, foghorn_core::Channel, foghorn_core::Status, crate::workflow::Step)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;
