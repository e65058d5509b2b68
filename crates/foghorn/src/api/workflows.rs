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
    let compiled = state
        .workflows
        .compile(doc)
        .map_err(|e| ApiError::validation("steps", e.to_string()))?;
    let audit = auth.audit("workflow.put", &name);
    let row = WorkflowRow {
        tenant_id: auth.tenant_id.clone(),
        name,
        document: stored,
        updated_at: chrono::Utc::now().timestamp_millis(),
    };
    state.store.put_workflow(&row, &audit).await?;
    let installed = state.workflows.install(&auth.tenant_id, compiled);
    Ok(Json(installed.doc.clone()))
}
