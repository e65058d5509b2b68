//! What each call says: the script rendered when it was placed, read back
//! when the provider fetches the call's page (on whichever node).

use crate::{on_db, on_read, Result, Store};
use foghorn_core::TenantId;

/// A call's script and whose call it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallScript {
    pub tenant_id: TenantId,
    pub script: String,
    pub locale: Option<String>,
}

impl Store {
    /// Keeps (or, for a retried call, replaces) a call's script.
    pub async fn put_call_script(
        &self,
        tenant_id: &TenantId,
        notification_id: &str,
        script: &str,
        locale: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let sealed = self.crypto.seal("call_scripts.script", script);
        on_db!(self, |pool, DB| {
            sqlx::query(
                "INSERT INTO call_scripts (notification_id, tenant_id, script, locale, created_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (notification_id) DO UPDATE SET script = excluded.script, locale = excluded.locale",
            )
            .bind(notification_id)
            .bind(tenant_id)
            .bind(&sealed)
            .bind(locale)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The script of the call placed for `notification_id`.
    pub async fn call_script(&self, notification_id: &str) -> Result<Option<CallScript>> {
        let row: Option<(TenantId, String, Option<String>)> = on_read!(self, |pool, DB| {
            sqlx::query_as(
                "SELECT tenant_id, script, locale FROM call_scripts WHERE notification_id = $1",
            )
            .bind(notification_id)
            .fetch_optional(pool)
            .await?
        });
        let Some((tenant_id, script, locale)) = row else {
            return Ok(None);
        };
        Ok(Some(CallScript {
            tenant_id,
            script: self.crypto.open("call_scripts.script", &script)?,
            locale,
        }))
    }
}
