//! Encryption at rest: AES-256-GCM for personal data, message content and
//! secrets, and keyed hashes (HMAC-SHA256) for looking rows up by email or
//! phone without decrypting.
//!
//! A ciphertext is text: `enc1:<key id>:<base64(nonce || sealed)>`, so every
//! value names the key that sealed it and rotation can find what is left to
//! re-encrypt. The associated data is the column's name: a value copied into
//! another column does not open.
//!
//! The key ring holds the current key (which seals) and older keys (which
//! only open); it can be swapped while the process runs, which is how a
//! master key rotates without downtime.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::sync::{Arc, RwLock};

const PREFIX: &str = "enc1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("a master key must be 32 bytes, base64-encoded (got {0} bytes)")]
    KeyLength(usize),
    #[error("a master key is not valid base64")]
    KeyEncoding,
    #[error("value sealed with key {0}, which is not in the key ring")]
    UnknownKey(String),
    #[error("a stored value could not be decrypted (wrong key or tampered data)")]
    Open,
    #[error("a stored value is not in the sealed format")]
    Format,
}

/// One master key and its id (the first 8 hex digits of its SHA-256),
/// with its cipher and look-up MAC made once: building them per value
/// (a key schedule per seal, two HMACs per look-up hash) was most of the
/// accept writer's time.
#[derive(Clone)]
pub struct MasterKey {
    pub id: String,
    bytes: [u8; 32],
    cipher: Aes256Gcm,
    lookup: Hmac<Sha256>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    pub fn from_base64(text: &str) -> Result<MasterKey, CryptoError> {
        let raw = B64
            .decode(text.trim())
            .map_err(|_| CryptoError::KeyEncoding)?;
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::KeyLength(raw.len()))?;
        Ok(MasterKey::from_bytes(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        let id = foghorn_core::hex::hex(&Sha256::digest(bytes))[..8].to_string();
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes));
        let lookup = keyed(&lookup_key(&bytes));
        MasterKey {
            id,
            bytes,
            cipher,
            lookup,
        }
    }

    pub fn generate() -> MasterKey {
        let key = Aes256Gcm::generate_key(OsRng);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&key);
        MasterKey::from_bytes(bytes)
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.bytes)
    }

    fn cipher(&self) -> &Aes256Gcm {
        &self.cipher
    }

    /// A signing key for one purpose (`unsubscribe`, …), derived so that no
    /// two purposes, nor sealing and look-ups, share a key.
    fn signing_key(&self, purpose: &str) -> [u8; 32] {
        let mut mac = keyed(&self.bytes);
        mac.update(b"foghorn signing key v1:");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The current key first; older keys after it open old values.
#[derive(Debug, Clone)]
pub struct KeyRing {
    pub keys: Vec<MasterKey>,
}

/// Shared, swappable key ring.
#[derive(Debug, Clone)]
pub struct Crypto {
    ring: Arc<RwLock<KeyRing>>,
}

impl Crypto {
    pub fn new(ring: KeyRing) -> Crypto {
        Crypto {
            ring: Arc::new(RwLock::new(ring)),
        }
    }

    /// A fresh random key; for tests and throwaway databases.
    pub fn ephemeral() -> Crypto {
        Crypto::new(KeyRing {
            keys: vec![MasterKey::generate()],
        })
    }

    pub fn replace(&self, ring: KeyRing) {
        if let Ok(mut r) = self.ring.write() {
            *r = ring;
        }
    }

    pub fn current_id(&self) -> String {
        self.ring
            .read()
            .ok()
            .and_then(|r| r.keys.first().map(|k| k.id.clone()))
            .unwrap_or_default()
    }

    /// A copy of the ring as it is now.
    pub fn ring(&self) -> KeyRing {
        self.ring
            .read()
            .map(|r| r.clone())
            .unwrap_or(KeyRing { keys: Vec::new() })
    }

    pub fn key_ids(&self) -> Vec<String> {
        self.ring
            .read()
            .map(|r| r.keys.iter().map(|k| k.id.clone()).collect())
            .unwrap_or_default()
    }

    /// Runs `f` with the current key, under the ring's read lock: a key
    /// holds its cipher's and MAC's schedules, so a copy per call (every
    /// seal and every look-up hash on the accept path) costs more than
    /// the work it serves.
    fn with_current<R>(&self, f: impl FnOnce(&MasterKey) -> R) -> Option<R> {
        self.ring.read().ok().and_then(|r| r.keys.first().map(f))
    }

    /// Runs `f` with the key named `id`, under the ring's read lock.
    fn with_key<R>(&self, id: &str, f: impl FnOnce(&MasterKey) -> R) -> Option<R> {
        self.ring
            .read()
            .ok()
            .and_then(|r| r.keys.iter().find(|k| k.id == id).map(f))
    }

    /// Seals `plain` for `column`.
    pub fn seal(&self, column: &str, plain: &str) -> String {
        self.with_current(|key| seal_with(key, column, plain))
            .unwrap_or_else(|| plain.to_string())
    }

    pub fn seal_opt(&self, column: &str, plain: Option<&str>) -> Option<String> {
        plain.map(|p| self.seal(column, p))
    }

    /// Opens a sealed value.
    pub fn open(&self, column: &str, sealed: &str) -> Result<String, CryptoError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Format)?;
        let (id, b64) = rest.split_once(':').ok_or(CryptoError::Format)?;
        let blob = B64.decode(b64).map_err(|_| CryptoError::Format)?;
        if blob.len() < 12 {
            return Err(CryptoError::Format);
        }
        let (nonce, ct) = blob.split_at(12);
        let plain = self
            .with_key(id, |key| {
                key.cipher().decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: ct,
                        aad: column.as_bytes(),
                    },
                )
            })
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))?
            .map_err(|_| CryptoError::Open)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Open)
    }

    pub fn open_opt(
        &self,
        column: &str,
        sealed: Option<&str>,
    ) -> Result<Option<String>, CryptoError> {
        sealed.map(|s| self.open(column, s)).transpose()
    }

    /// Is `value` sealed with a key other than the current one?
    pub fn is_stale(&self, value: &str) -> bool {
        let current = self.current_id();
        value
            .strip_prefix(PREFIX)
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(id, _)| id != current)
    }

    /// Keyed hash of a normalised value, under the current key.
    pub fn lookup_hash(&self, value: &str) -> Option<String> {
        self.with_current(|k| lookup_hash_with(k, value))
    }

    /// The value's hash under every key in the ring (the current first), so
    /// look-ups keep working while a rotation re-hashes rows.
    pub fn lookup_hashes(&self, value: &str) -> Vec<String> {
        self.ring
            .read()
            .map(|r| r.keys.iter().map(|k| lookup_hash_with(k, value)).collect())
            .unwrap_or_default()
    }
}

impl Crypto {
    /// HMAC-SHA256 of `data` under the current master key's signing key for
    /// `purpose`; None only when the ring is empty.
    pub fn sign(&self, purpose: &str, data: &[u8]) -> Option<[u8; 32]> {
        let key = self.with_current(|k| k.signing_key(purpose))?;
        let mut mac = keyed(&key);
        mac.update(data);
        Some(mac.finalize().into_bytes().into())
    }

    /// Checks a [`Crypto::sign`] tag against every key in the ring, so what
    /// was signed before a rotation still verifies. Each comparison is
    /// constant-time.
    pub fn verify(&self, purpose: &str, data: &[u8], tag: &[u8]) -> bool {
        self.ring.read().is_ok_and(|r| {
            r.keys.iter().any(|k| {
                let mut mac = keyed(&k.signing_key(purpose));
                mac.update(data);
                mac.verify_slice(tag).is_ok()
            })
        })
    }
}

/// HMAC-SHA256 under a 32-byte key. A key shorter than the hash's 64-byte
/// block is zero-padded to it (RFC 2104, section 2), so building the block
/// here is the same MAC as `new_from_slice`, without a fallible call.
fn keyed(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
}

/// The look-up hashing key, derived so it never equals the sealing key.
fn lookup_key(master: &[u8; 32]) -> [u8; 32] {
    let mut mac = keyed(master);
    mac.update(b"foghorn lookup hash v1");
    mac.finalize().into_bytes().into()
}

/// AES-256-GCM under `key`, the column as associated data, so a value
/// moved to another column does not open.
fn seal_with(key: &MasterKey, column: &str, plain: &str) -> String {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    // Encryption with a valid key and nonce cannot fail for these sizes.
    let sealed = key
        .cipher()
        .encrypt(
            &nonce,
            Payload {
                msg: plain.as_bytes(),
                aad: column.as_bytes(),
            },
        )
        .unwrap_or_default();
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    format!("{PREFIX}{}:{}", key.id, B64.encode(blob))
}

fn lookup_hash_with(key: &MasterKey, value: &str) -> String {
    let mut mac = key.lookup.clone();
    mac.update(value.trim().to_lowercase().as_bytes());
    foghorn_core::hex::hex(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_binds_the_column() {
        let c = Crypto::ephemeral();
        let s = c.seal("subscribers.email", "owner@example.com");
        assert!(s.starts_with(&format!("enc1:{}:", c.current_id())), "{s}");
        assert!(!s.contains("owner"));
        assert_eq!(
            c.open("subscribers.email", &s).unwrap(),
            "owner@example.com"
        );
        assert!(
            matches!(c.open("subscribers.phone", &s), Err(CryptoError::Open)),
            "sealed for another column"
        );
        assert_ne!(
            c.seal("x", "same"),
            c.seal("x", "same"),
            "a fresh nonce each time"
        );
        let mut tampered = s.clone();
        tampered.pop();
        tampered.push(if s.ends_with('A') { 'B' } else { 'A' });
        assert!(c.open("subscribers.email", &tampered).is_err());
        assert!(matches!(
            Crypto::ephemeral().open("subscribers.email", &s),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_marks_them_stale() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let c = Crypto::new(KeyRing {
            keys: vec![old.clone()],
        });
        let sealed = c.seal("events.data", "{}");
        let h_old = c.lookup_hash("+15555550142").unwrap();
        c.replace(KeyRing {
            keys: vec![new.clone(), old],
        });
        assert!(c.is_stale(&sealed));
        assert_eq!(c.open("events.data", &sealed).unwrap(), "{}");
        assert!(!c.is_stale(&c.seal("events.data", "{}")));
        let hashes = c.lookup_hashes("+15555550142");
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[1], h_old);
        assert_ne!(hashes[0], h_old);
        assert_eq!(
            c.lookup_hash(" Owner@Example.com "),
            c.lookup_hash("owner@example.com")
        );
    }

    #[test]
    fn signatures_verify_across_a_rotation_and_per_purpose() {
        let old = MasterKey::generate();
        let c = Crypto::new(KeyRing {
            keys: vec![old.clone()],
        });
        let tag = c.sign("unsubscribe", b"payload").unwrap();
        assert!(c.verify("unsubscribe", b"payload", &tag));
        assert!(!c.verify("unsubscribe", b"payload!", &tag));
        assert!(!c.verify("links", b"payload", &tag), "another purpose");
        assert!(!c.verify("unsubscribe", b"payload", &tag[..31]));
        c.replace(KeyRing {
            keys: vec![MasterKey::generate(), old],
        });
        assert!(
            c.verify("unsubscribe", b"payload", &tag),
            "signed before the rotation"
        );
        assert_ne!(c.sign("unsubscribe", b"payload").unwrap(), tag);
        assert!(!Crypto::ephemeral().verify("unsubscribe", b"payload", &tag));
    }

    #[test]
    fn keys_parse_from_base64_with_clear_errors() {
        let k = MasterKey::generate();
        assert_eq!(MasterKey::from_base64(&k.to_base64()).unwrap().id, k.id);
        assert!(matches!(
            MasterKey::from_base64("c2hvcnQ="),
            Err(CryptoError::KeyLength(5))
        ));
        assert!(matches!(
            MasterKey::from_base64("!!"),
            Err(CryptoError::KeyEncoding)
        ));
    }
}
