//! `GET /v1/workflows`, `GET/PUT /v1/workflows/{name}`: the JSON form of the
//! workflow TOML. A PUT is compiled (templates parsed, conditions checked)
//! before it is stored, so a broken workflow is refused, not half-saved.

use super::auth::{Auth, Scope};
use super::extract::ApiPath;
use super::json::ApiJson;
use super::problem::{ApiError, ApiResult};
use super::AppState;
use crate::workflow::Workflow;
use axum::extract::State;
use axum::Json;
use foghorn_store::WorkflowRow;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowList {
    pub names: Vec<String>,
}

/// Workflow names this tenant has
#[utoipa::path(get, path = "/v1/workflows", tag = "workflows", responses((status = 200, body = WorkflowList)), security(("bearer" = ["read"])))]
pub async fn list(State(state): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<WorkflowList>> {
    auth.require(Scope::Read)?;
    Ok(Json(WorkflowList {
        names: state.workflows.names(&auth.tenant_id),
    }))
}

/// Read a workflow
#[utoipa::path(get, path = "/v1/workflows/{name}", tag = "workflows", params(("name" = String, Path)),
    responses((status = 200, body = Workflow), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["read"])))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Workflow>> {
    auth.require(Scope::Read)?;
    let w = state
        .workflows
        .get(&auth.tenant_id, &name)
        .ok_or_else(|| ApiError::not_found(format!("no workflow `{name}`")))?;
    Ok(Json(w.doc.clone()))
}

/// Delete a tenant's own workflow
///
/// The built-in or file workflow of the same name, if any, answers the
/// event again afterwards.
#[utoipa::path(delete, path = "/v1/workflows/{name}", tag = "workflows", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<axum::http::StatusCode> {
    auth.require(Scope::Admin)?;
    let audit = auth.audit("workflow.delete", &name);
    let now = foghorn_core::clock::now_ms();
    if !state
        .store
        .delete_workflow(&auth.tenant_id, &name, now, &audit)
        .await?
    {
        return Err(ApiError::not_found(format!(
            "no workflow `{name}` of this tenant's own"
        )));
    }
    state.workflows.remove(&auth.tenant_id, &name);
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// A refused document names the offending field where it can.
pub(super) fn workflow_problem(e: crate::workflow::WorkflowError) -> ApiError {
    match e {
        crate::workflow::WorkflowError::Field { field, message } => {
            ApiError::validation(&field, message)
        }
        e => ApiError::validation("steps", e.to_string()),
    }
}

/// Create or replace a workflow
#[utoipa::path(put, path = "/v1/workflows/{name}", tag = "workflows", params(("name" = String, Path)), request_body = Workflow,
    responses((status = 200, body = Workflow), (status = 422, body = super::problem::Problem, content_type = "application/problem+json")),
    security(("bearer" = ["admin"])))]
pub async fn put(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(doc): ApiJson<Workflow>,
) -> ApiResult<Json<Workflow>> {
    auth.require(Scope::Admin)?;
    if doc.name != name {
        return Err(ApiError::validation(
            "name",
            format!(
                "the document names `{}` but the path names `{name}`",
                doc.name
            ),
        ));
    }
    let stored = serde_json::to_string(&doc).map_err(|e| ApiError::internal(&e))?;
    let mut compiled = state
        .workflows
        .compile(doc, state.workflows.tenant_source())
        .map_err(workflow_problem)?;
    let now = foghorn_core::clock::now_ms();
    compiled.version = now;
    let compiled = Arc::new(compiled);
    let sample = super::preview::sample_data(&name).unwrap_or_else(|| serde_json::json!({}));
    if let Err((step, e)) = compiled.trial(&sample).await {
        return Err(ApiError::validation(
            format!("steps[{step}]"),
            e.to_string(),
        ));
    }
    let audit = auth.audit("workflow.put", &name);
    let row = WorkflowRow {
        tenant_id: auth.tenant_id.clone(),
        name,
        document: stored,
        updated_at: now,
    };
    state.store.put_workflow(&row, &audit).await?;
    let installed = state.workflows.install(&auth.tenant_id, compiled);
    Ok(Json(installed.doc.clone()))
}
