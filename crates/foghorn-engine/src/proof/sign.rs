//! Signing a proof with the tenant's Ed25519 key, and checking an export
//! offline with nothing but the file (and, better, a public key obtained
//! some other way).
//!
//! What is signed is the canonical JSON of the document without its
//! `signature` member; the anchor's `document_sha256` is over the canonical
//! JSON without `anchor` and `signature`. The export itself is written in
//! canonical form, so every byte of the file is covered: a reformatted copy
//! is refused too, rather than checking something other than what was
//! signed.

use super::document::{Proof, Signature, Totals};
use super::ProofError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use foghorn_core::canonical;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "Ed25519";

/// A tenant's key pair, ready to sign; ring's `Debug` of the pair shows
/// its public half only.
#[derive(Debug)]
pub struct SigningKey {
    pair: Ed25519KeyPair,
    public_key: String,
    key_id: String,
}

/// A fresh key pair: (public key, PKCS#8 document), both base64.
pub fn generate() -> Result<(String, String), ProofError> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| ProofError::KeyGeneration)?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| ProofError::KeyGeneration)?;
    Ok((
        B64.encode(pair.public_key().as_ref()),
        B64.encode(pkcs8.as_ref()),
    ))
}

impl SigningKey {
    /// The key from its stored halves; the public half must be the secret's.
    pub fn from_parts(public_key: &str, pkcs8_b64: &str) -> Result<SigningKey, ProofError> {
        let pkcs8 = B64
            .decode(pkcs8_b64)
            .map_err(|_| ProofError::BadKey("the secret is not base64"))?;
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8)
            .map_err(|_| ProofError::BadKey("the secret is not an Ed25519 PKCS#8 document"))?;
        let derived = B64.encode(pair.public_key().as_ref());
        if derived != public_key {
            return Err(ProofError::BadKey("the public key is not the secret's"));
        }
        Ok(SigningKey {
            key_id: key_id(pair.public_key().as_ref()),
            public_key: derived,
            pair,
        })
    }

    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Fills in `proof.signature` over everything else in it.
    pub fn sign(&self, proof: &mut Proof) -> Result<(), ProofError> {
        proof.signature = None;
        let text = canonical::to_string(&to_value(proof)?);
        let sig = self.pair.sign(text.as_bytes());
        proof.signature = Some(Signature {
            algorithm: ALGORITHM.into(),
            key_id: self.key_id.clone(),
            public_key: self.public_key.clone(),
            value: B64.encode(sig.as_ref()),
        });
        Ok(())
    }
}

/// The first 8 bytes of the public key's SHA-256, hex: short enough to
/// read out, long enough to tell a tenant's keys apart.
pub fn key_id(public_key: &[u8]) -> String {
    foghorn_core::hex::hex(&Sha256::digest(public_key)[..8])
}

/// SHA-256 (hex) of the canonical document without anchor and signature.
pub fn document_sha256(proof: &Proof) -> Result<String, ProofError> {
    let mut v = to_value(proof)?;
    Ok(digest_without_seals(&mut v))
}

fn digest_without_seals(v: &mut Value) -> String {
    if let Some(m) = v.as_object_mut() {
        m.remove("anchor");
        m.remove("signature");
    }
    foghorn_core::hex::hex(&Sha256::digest(canonical::to_string(v).as_bytes()))
}

/// The export's bytes: the canonical JSON of the signed document.
pub fn export_text(proof: &Proof) -> Result<String, ProofError> {
    Ok(canonical::to_string(&to_value(proof)?))
}

fn to_value(proof: &Proof) -> Result<Value, ProofError> {
    serde_json::to_value(proof).map_err(|e| ProofError::Encode(e.to_string()))
}

/// What a valid export says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub event_id: String,
    pub key_id: String,
    pub owners: usize,
    pub totals: Totals,
    pub audit_seq: Option<i64>,
}

/// Why an export does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a JSON document: {0}")]
    NotJson(String),
    #[error("no `{0}` (not a proof export, or cut short)")]
    Missing(&'static str),
    #[error("signed with `{0}`, not Ed25519")]
    Algorithm(String),
    #[error("the {0} is not valid base64 of the right length")]
    Encoding(&'static str),
    #[error("the key id does not match the embedded public key")]
    KeyId,
    #[error("signed by key {found}, not by the pinned key {pinned}")]
    WrongKey { found: String, pinned: String },
    #[error("the signature does not match the document (altered after signing, or signed by another key)")]
    Signature,
    #[error("the anchored digest does not match the document")]
    Digest,
    #[error("the file is not in the canonical form it was signed in (reformatted or edited)")]
    NotCanonical,
}

/// Checks an export: the signature over the document by the embedded key
/// (or, with `pinned`, by that key only), the anchor's digest, and that the
/// file is exactly the signed canonical form (one trailing newline allowed).
pub fn verify(text: &str, pinned: Option<&str>) -> Result<Verified, VerifyError> {
    let v: Value = serde_json::from_str(text).map_err(|e| VerifyError::NotJson(e.to_string()))?;
    let sig = v
        .get("signature")
        .ok_or(VerifyError::Missing("signature"))?;
    let field = |name: &'static str| {
        sig.get(name)
            .and_then(Value::as_str)
            .ok_or(VerifyError::Missing(name))
    };
    let algorithm = field("algorithm")?;
    if algorithm != ALGORITHM {
        return Err(VerifyError::Algorithm(algorithm.to_string()));
    }
    let public_b64 = field("public_key")?;
    let public = B64
        .decode(public_b64)
        .ok()
        .filter(|k| k.len() == 32)
        .ok_or(VerifyError::Encoding("public key"))?;
    let found = key_id(&public);
    if field("key_id")? != found {
        return Err(VerifyError::KeyId);
    }
    if let Some(pinned) = pinned {
        let pinned_id = B64
            .decode(pinned.trim())
            .map(|k| key_id(&k))
            .unwrap_or_else(|_| "(not base64)".into());
        if pinned.trim() != public_b64 {
            return Err(VerifyError::WrongKey {
                found,
                pinned: pinned_id,
            });
        }
    }
    let value = B64
        .decode(field("value")?)
        .ok()
        .filter(|s| s.len() == 64)
        .ok_or(VerifyError::Encoding("signature"))?;
    let mut unsigned = v.clone();
    if let Some(m) = unsigned.as_object_mut() {
        m.remove("signature");
    }
    UnparsedPublicKey::new(&ED25519, &public)
        .verify(canonical::to_string(&unsigned).as_bytes(), &value)
        .map_err(|_| VerifyError::Signature)?;
    let anchored = v
        .get("anchor")
        .and_then(|a| a.get("document_sha256"))
        .and_then(Value::as_str)
        .ok_or(VerifyError::Missing("anchor.document_sha256"))?;
    if digest_without_seals(&mut unsigned) != anchored {
        return Err(VerifyError::Digest);
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body != canonical::to_string(&v) {
        return Err(VerifyError::NotCanonical);
    }
    let proof: Proof =
        serde_json::from_value(v).map_err(|e| VerifyError::NotJson(e.to_string()))?;
    Ok(Verified {
        event_id: proof.event_id,
        key_id: found,
        owners: proof.owners.len(),
        totals: proof.totals,
        audit_seq: proof.anchor.map(|a| a.audit_seq),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::document::{Anchor, Owner};

    fn proof() -> Proof {
        Proof {
            event_id: "evt_1".into(),
            event_name: "recall.issued".into(),
            tenant: "default".into(),
            generated_at: "2026-12-03T10:00:00.000Z".into(),
            owners: vec![Owner {
                subscriber: "owner-1".into(),
                attempts: vec![],
                receipts: vec![],
                acknowledged: None,
                reason: Some("unreachable: every attempt failed (sms)".into()),
            }],
            totals: Totals {
                reached: 0,
                acknowledged: 0,
                unreachable: 1,
            },
            anchor: None,
            signature: None,
        }
    }

    fn key() -> SigningKey {
        let (public, secret) = generate().unwrap();
        SigningKey::from_parts(&public, &secret).unwrap()
    }

    fn signed(key: &SigningKey) -> String {
        let mut p = proof();
        let digest = document_sha256(&p).unwrap();
        p.anchor = Some(Anchor {
            audit_seq: 7,
            entry_hash: "ab".repeat(32),
            document_sha256: digest,
        });
        key.sign(&mut p).unwrap();
        export_text(&p).unwrap()
    }

    #[test]
    fn a_signed_export_verifies_with_its_key_and_the_pinned_one() {
        let key = key();
        let text = signed(&key);
        let ok = verify(&text, None).unwrap();
        assert_eq!(ok.key_id, key.key_id());
        assert_eq!((ok.owners, ok.totals.unreachable), (1, 1));
        assert_eq!(ok.audit_seq, Some(7));
        assert!(verify(&text, Some(key.public_key())).is_ok());
        assert!(verify(&format!("{text}\n"), None).is_ok());
    }

    #[test]
    fn changing_any_single_byte_fails() {
        let key = key();
        let text = signed(&key);
        let bytes = text.as_bytes();
        // Every position, flipped to a byte that keeps the text UTF-8.
        for i in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            changed[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let Ok(changed) = String::from_utf8(changed) else {
                continue;
            };
            assert!(
                verify(&changed, None).is_err(),
                "byte {i} changed and still verified"
            );
        }
    }

    #[test]
    fn another_key_or_an_edit_is_named() {
        let key = key();
        let other = self::key();
        let text = signed(&key);
        assert!(matches!(
            verify(&text, Some(other.public_key())),
            Err(VerifyError::WrongKey { .. })
        ));
        let edited = text.replace("\"unreachable\":1", "\"unreachable\":0");
        assert_eq!(verify(&edited, None), Err(VerifyError::Signature));
        // A document re-signed by someone else's key after the edit does not
        // pass a pinned check.
        let mut p: Proof = serde_json::from_str(&edited).unwrap();
        let digest = document_sha256(&p).unwrap();
        if let Some(a) = p.anchor.as_mut() {
            a.document_sha256 = digest;
        }
        other.sign(&mut p).unwrap();
        let forged = export_text(&p).unwrap();
        assert!(verify(&forged, None).is_ok());
        assert!(verify(&forged, Some(key.public_key())).is_err());
        let pretty =
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&text).unwrap()).unwrap();
        assert_eq!(verify(&pretty, None), Err(VerifyError::NotCanonical));
        assert!(matches!(
            verify("{}", None),
            Err(VerifyError::Missing("signature"))
        ));
    }

    #[test]
    fn a_stored_key_must_be_one_pair() {
        let (public, _) = generate().unwrap();
        let (_, secret) = generate().unwrap();
        assert!(SigningKey::from_parts(&public, &secret).is_err());
    }
}
