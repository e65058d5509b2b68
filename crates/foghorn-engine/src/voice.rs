//! The pages of the calls Foghorn places (`/voice/{provider}/{notification}`):
//! the provider fetches one when the call is answered and after each key
//! pressed. Each request is checked by the provider's own scheme against
//! the accounts of the call's tenant; pressing 1 acknowledges the
//! notification (and with it the person's whole event, cancelling the
//! escalations still waiting). Everything is read locally, so the page
//! answers well within the providers' few seconds.

use crate::inbound::HookError;
use crate::TenantRoutes;
use foghorn_core::voice::{self, CallPage, Scene};
use foghorn_core::{InboundRequest, Reply};
use foghorn_store::Store;
use std::sync::Arc;

pub struct Calls {
    pub store: Store,
    pub routes: Arc<TenantRoutes>,
    /// Tells the event's team alerts of an acknowledgement.
    pub team: Arc<crate::team::Team>,
}

impl Calls {
    /// Answers one request of a `kind` call placed for `notification_id`.
    pub async fn page(
        &self,
        kind: &str,
        notification_id: &str,
        req: &InboundRequest<'_>,
    ) -> Result<Reply, HookError> {
        // Unknown calls are refused like bad signatures: nothing about
        // which ids exist is told to an unsigned caller.
        let Some(call) = self.store.call_script(notification_id).await? else {
            return Err(HookError::Unauthorized(format!(
                "no call {notification_id}"
            )));
        };
        let routing = self.routes.for_tenant(&call.tenant_id).await;
        let (slot, input) = crate::inbound::first_verified(&routing, kind, |p| p.call_input(req))?;
        let scene = voice::next_scene(&input, &call.script);
        if scene == Scene::Acknowledged {
            let ack = crate::acknowledge::acknowledge(
                &self.store,
                &call.tenant_id,
                notification_id,
                "recipient (voice)",
                "voice",
            )
            .await?;
            if let Some(ack) = ack {
                self.team.tell_alerts(&call.tenant_id, &ack);
            }
        }
        metrics::counter!("foghorn_call_pages_total", "kind" => slot.provider.kind(), "scene" => scene_name(&scene)).increment(1);
        let url = req.url.split('?').next().unwrap_or(req.url);
        Ok(slot.provider.call_page(&CallPage {
            scene,
            language: voice::language(call.locale.as_deref()),
            url,
        }))
    }
}

fn scene_name(s: &Scene<'_>) -> &'static str {
    match s {
        Scene::Script { .. } => "script",
        Scene::Voicemail { .. } => "voicemail",
        Scene::Acknowledged => "acknowledged",
        Scene::Goodbye => "goodbye",
    }
}
