//! Proof of notice: for one event, a signed account of every owner it
//! concerned — what was sent on which channel, what the providers reported,
//! who confirmed and how, or why nobody did — anchored in the audit chain,
//! as JSON (canonical, Ed25519-signed), printable HTML and PDF.
//!
//! The JSON is the proof; the HTML and PDF are renderings of it for
//! people, carrying its key id and anchor so a printout can be matched to
//! the export that verifies.
//!
//! Error policy: [`ProofError`] for building and signing (the API maps it
//! to a 500), [`VerifyError`] for what is wrong with an export handed in.

mod document;
pub mod html;
pub mod pdf;
mod sign;

pub use document::{
    rfc3339, Acknowledged, Anchor, AttemptEntry, Owner, Proof, Receipt, Signature, Totals,
};
pub use sign::{key_id, verify, SigningKey, Verified, VerifyError, ALGORITHM};

use foghorn_store::{Audit, Store, StoreError, TenantId};

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no Ed25519 key pair could be generated")]
    KeyGeneration,
    #[error("the stored proof key is unusable: {0}")]
    BadKey(&'static str),
    #[error("the proof could not be encoded: {0}")]
    Encode(String),
}

/// A signed, anchored proof and its export bytes.
#[derive(Debug, Clone)]
pub struct Export {
    pub proof: Proof,
    /// Canonical JSON: exactly what `verify` checks.
    pub json: String,
}

/// The tenant's public key as others pin it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub key_id: String,
    /// Raw 32 bytes, base64.
    pub public_key: String,
}

/// The tenant's signing key, made on first use. Two nodes making it at
/// once agree: the store keeps the first written and both read it back.
pub async fn signing_key(
    store: &Store,
    tenant_id: &TenantId,
    now: i64,
) -> Result<SigningKey, ProofError> {
    let stored = match store.proof_key(tenant_id).await? {
        Some(k) => k,
        None => {
            let (public, secret) = sign::generate()?;
            store
                .create_proof_key(tenant_id, &public, &secret, now)
                .await?
        }
    };
    SigningKey::from_parts(&stored.public_key, stored.secret.expose())
}

pub async fn public_key(
    store: &Store,
    tenant_id: &TenantId,
    now: i64,
) -> Result<PublicKey, ProofError> {
    let key = signing_key(store, tenant_id, now).await?;
    Ok(PublicKey {
        key_id: key.key_id().to_string(),
        public_key: key.public_key().to_string(),
    })
}

/// Builds, anchors and signs the proof of the tenant's event `event_id`;
/// None when the tenant has no such event. Each export is its own audit
/// row (`proof.export`, by `actor`), whose detail holds the document's
/// digest and counts, never anything about the people in it.
pub async fn export(
    store: &Store,
    tenant_id: &TenantId,
    event_id: &str,
    actor: &str,
    now: i64,
) -> Result<Option<Export>, ProofError> {
    let Some(facts) = store.proof_facts(tenant_id, event_id).await? else {
        return Ok(None);
    };
    let key = signing_key(store, tenant_id, now).await?;
    let mut proof = document::build(&facts, store.crypto(), now);
    let digest = sign::document_sha256(&proof)?;
    let audit = Audit::new(actor, "proof.export", event_id).with_detail(serde_json::json!({
        "document_sha256": digest,
        "key_id": key.key_id(),
        "owners": proof.owners.len(),
    }));
    let chained = store.anchor(tenant_id, &audit, now).await?;
    proof.anchor = Some(Anchor {
        audit_seq: chained.seq,
        entry_hash: chained.hash,
        document_sha256: digest,
    });
    key.sign(&mut proof)?;
    let json = sign::export_text(&proof)?;
    Ok(Some(Export { proof, json }))
}
