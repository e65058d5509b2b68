//! The OpenAPI document, generated from the handlers and types themselves,
//! with the answers every operation shares (401, 403, 429, 400, 413, 415,
//! 422) added in one pass so no handler can forget them.

use super::{
    acknowledge, admin, audit, budgets, catalog, destinations, events, health, hooks, interactions,
    links, media, notifications, overview, preferences, preview, problem, proof, providers,
    reports, sandbox, subscribers, suppressions, unsubscribe, voice, workflows,
};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AdditionalProperties, Object, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

/// What every id, key, cursor and name parameter matches: text without
/// control characters (see `extract::plain_text`).
pub const PLAIN_TEXT: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `foghorn keys create --scope SCOPE`. Each operation \
                         lists the scope it needs (see the `Scope` schema); `admin` includes \
                         every tenant scope, `operator` manages tenants and sees no tenant's data.",
                    ))
                    .build(),
            ),
        );
        // The scopes a key can hold, from the list the server checks.
        let scopes: Vec<serde_json::Value> = super::auth::Scope::ALL
            .iter()
            .map(|s| serde_json::Value::from(s.as_str()))
            .collect();
        components.schemas.insert(
            "Scope".into(),
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(scopes))
                .description(Some("What an API key may do"))
                .into(),
        );
    }
}

/// Adds the problem answers an operation can give because of what it is:
/// secured (401, 403, 429), takes parameters (400 undecodable, 422
/// invalid) or a JSON body (400 malformed, 413, 415, 422). String
/// parameters without a stricter rule get [`PLAIN_TEXT`].
struct CommonAnswers;

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

fn is_string(schema: &SchemaType) -> bool {
    match schema {
        SchemaType::Type(t) => *t == Type::String,
        SchemaType::Array(ts) => ts.contains(&Type::String),
        SchemaType::AnyValue => false,
    }
}

fn complete(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_params = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query));
    let body = op.request_body.as_ref().map(|b| {
        b.content
            .keys()
            .any(|ct| ct == "application/json" || ct.ends_with("+json"))
    });
    let mut answers: Vec<(&str, &str)> = Vec::new();
    if has_params {
        answers.push(("400", "A parameter is not valid percent-encoded UTF-8"));
        answers.push((
            "422",
            "A parameter is unknown, repeated, or not valid (`field` names it)",
        ));
    }
    match body {
        Some(true) => {
            answers.push(("400", "Malformed JSON"));
            answers.push(("413", "Body too large"));
            answers.push(("415", "The body is not application/json"));
            answers.push(("422", "A field is not valid (`field` names it)"));
        }
        Some(false) => answers.push(("413", "Body too large")),
        None => {}
    }
    if secured {
        answers.push(("401", "Missing or unknown API key"));
        answers.push(("403", "The key lacks the scope this needs"));
        answers.push(("429", "The key is over its request rate; see Retry-After"));
    }
    for (status, description) in answers {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| problem(description));
    }
    // An answer declared without words gets its status's reason phrase.
    for (status, r) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = r {
            if r.description.is_empty() {
                let reason = status
                    .parse::<u16>()
                    .ok()
                    .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
                    .and_then(|s| s.canonical_reason());
                r.description = reason.unwrap_or_default().to_string();
            }
        }
    }
    for p in op.parameters.iter_mut().flatten() {
        if let Some(RefOr::T(Schema::Object(o))) = &mut p.schema {
            if is_string(&o.schema_type)
                && o.enum_values.is_none()
                && o.pattern.is_none()
                && o.format.is_none()
            {
                o.pattern = Some(PLAIN_TEXT.to_string());
            }
        }
    }
}

/// A type with a flattened part (the shared `Contact`) comes out of the
/// derive as `allOf`; clients and code generators read one object better,
/// so each becomes the object it is on the wire. `closed` are the request
/// bodies that refuse unknown fields (which the derive cannot say beside a
/// flattened part).
fn merge_flattened(openapi: &mut utoipa::openapi::OpenApi, closed: &[&str]) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let parts = components.schemas.clone();
    let mut used = std::collections::BTreeSet::new();
    for (name, schema) in components.schemas.iter_mut() {
        let RefOr::T(Schema::AllOf(all)) = schema else {
            continue;
        };
        let mut merged = Object::new();
        merged.schema_type = SchemaType::Type(Type::Object);
        merged.description = all.description.clone();
        for item in &all.items {
            let part = match item {
                RefOr::T(Schema::Object(o)) => Some(o),
                RefOr::Ref(r) => r
                    .ref_location
                    .strip_prefix("#/components/schemas/")
                    .and_then(|n| match parts.get(n) {
                        Some(RefOr::T(Schema::Object(o))) => {
                            used.insert(n.to_string());
                            Some(o)
                        }
                        _ => None,
                    }),
                _ => None,
            };
            let Some(part) = part else {
                // Not a plain object: leave the schema as the derive made it.
                merged = Object::new();
                break;
            };
            merged.properties.extend(part.properties.clone());
            merged.required.extend(part.required.iter().cloned());
        }
        if merged.properties.is_empty() {
            continue;
        }
        if closed.contains(&name.as_str()) {
            merged.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
        *schema = RefOr::T(Schema::Object(merged));
    }
    // A part every user of which was merged is no longer a schema of its own.
    let text = serde_json::to_string(&*openapi).unwrap_or_default();
    if let Some(components) = openapi.components.as_mut() {
        components.schemas.retain(|name, _| {
            !used.contains(name) || text.contains(&format!("\"#/components/schemas/{name}\""))
        });
    }
}

/// Time zones are names of the tz database the server checks them against.
fn time_zones(openapi: &mut utoipa::openapi::OpenApi) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let names: Vec<serde_json::Value> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| serde_json::Value::from(tz.name()))
        .collect();
    for schema in ["SubscriberInput", "InlineRecipient"] {
        if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(schema) {
            if let Some(RefOr::T(Schema::Object(tz))) = o.properties.get_mut("timezone") {
                let mut values = names.clone();
                values.push(serde_json::Value::Null);
                tz.enum_values = Some(values);
            }
        }
    }
}

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        merge_flattened(openapi, &["SubscriberInput", "InlineRecipient"]);
        time_zones(openapi);
        let mut ids = std::collections::HashSet::new();
        for item in openapi.paths.paths.values_mut() {
            for (method, op) in [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ] {
                let Some(op) = op else { continue };
                complete(op);
                // Handlers are named per file (`subscribers::get`), ids per
                // document: `subscribers_get`, and a handler serving two
                // methods gets the method too.
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
                if let (Some(id), Some(tag)) = (&mut op.operation_id, tag) {
                    *id = format!("{tag}_{id}");
                    if !ids.insert(id.clone()) {
                        *id = format!("{id}_{method}");
                        ids.insert(id.clone());
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Foghorn", description = "Self-hosted multi-channel notifications: events in, notifications out."),
    paths(
        events::post_event, events::cancel, proof::get, proof::public_key,
        notifications::list, notifications::get, notifications::dlq, notifications::replay,
        subscribers::put, subscribers::get, subscribers::delete, subscribers::consents, subscribers::export,
        preferences::get, preferences::put,
        preferences::get_categories, preferences::put_categories,
        preferences::get_quiet_hours, preferences::put_quiet_hours,
        workflows::list, workflows::get, workflows::put, workflows::delete, preview::preview,
        reports::costs, overview::get, audit::list, budgets::get, budgets::put, destinations::get, destinations::put,
        unsubscribe::page, unsubscribe::confirm, links::follow,
        acknowledge::page, acknowledge::confirm, media::download,
        sandbox::messages,
        providers::put,
        providers::list,
        providers::get,
        providers::delete,
        providers::test,
        suppressions::list, suppressions::delete,
        hooks::receive, interactions::receive, voice::page, catalog::search,
        admin::put_tenant, admin::get_tenant,
        health::healthz, health::readyz, health::metrics,
    ),
    components(schemas(problem::Problem, proof::Format, foghorn_core::Channel, foghorn_core::Status, crate::workflow::Step)),
    tags(
        (name = "events", description = "Events in: each becomes notifications by its workflow"),
        (name = "notifications", description = "What was sent, to whom, through which provider, at what cost"),
        (name = "dlq", description = "Notifications every provider and fallback failed"),
        (name = "subscribers", description = "The people notifications go to"),
        (name = "preferences", description = "The tenant's categories and default quiet hours"),
        (name = "workflows", description = "What an event becomes: steps, channels, templates"),
        (name = "providers", description = "Provider accounts a tenant brings"),
        (name = "destinations", description = "The tenant's named Slack and Discord destinations"),
        (name = "suppressions", description = "Addresses that must not be sent to"),
        (name = "sandbox", description = "What the sandbox provider captured"),
        (name = "reports", description = "Spending, the overview and the audit log"),
        (name = "admin", description = "Tenants (operator keys)"),
        (name = "unsubscribe", description = "The recipient's side of an unsubscribe link"),
        (name = "links", description = "Short links in text messages"),
        (name = "acknowledge", description = "The recipient's side of an acknowledgement link"),
        (name = "hooks", description = "Provider callbacks and chat apps' interactions"),
        (name = "catalog", description = "The document catalog kept from events"),
        (name = "operations", description = "Health and metrics"),
    ),
    modifiers(&BearerAuth, &CommonAnswers),
)]
pub struct ApiDoc;
