//! Where the master key ring comes from, and rotating it.
//!
//! `FOGHORN_MASTER_KEY` (base64 of 32 random bytes; a comma-separated list
//! while rotating, the current key first) or the key file (`master_key_file`,
//! one base64 key a line, the current first). With neither, a key file is
//! generated on first start, with a warning: the data is unreadable without
//! it. A running node re-reads the key file when it changes, which is how
//! `foghorn keys rotate-master` switches every node without a restart.

use crate::config::Config;
use anyhow::{bail, Context};
use foghorn_store::crypto::{Crypto, KeyRing, MasterKey};
use foghorn_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub const ENV: &str = "FOGHORN_MASTER_KEY";

/// How often a node looks at the key file for changes.
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub enum Source {
    Env,
    File(PathBuf),
}

pub fn parse_ring(text: &str, origin: &str) -> anyhow::Result<KeyRing> {
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|l| MasterKey::from_base64(l).with_context(|| format!("{origin}: a key is not valid")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if keys.is_empty() {
        bail!("{origin}: holds no key");
    }
    Ok(KeyRing { keys })
}

fn ring_text(ring: &KeyRing) -> String {
    let mut s = String::from("# Foghorn master keys: the first seals, the others only open. Keep this file secret and backed up.\n");
    for k in &ring.keys {
        s.push_str(&k.to_base64());
        s.push('\n');
    }
    s
}

/// Writes the ring atomically (a reader never sees half a file), mode 0600.
fn write_ring(path: &Path, ring: &KeyRing, create_new: bool) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(ring_text(ring).as_bytes())?;
        f.sync_all()?;
    }
    let result = if create_new {
        // Fails if another process created it first; then that one wins.
        std::fs::hard_link(&tmp, path)
    } else {
        std::fs::rename(&tmp, path)
    };
    let _ = std::fs::remove_file(&tmp);
    result
}

/// The configured ring does not open this database's sealed data: the node
/// refuses to start (exit 2) rather than answer 500 on every read and leave
/// jobs stuck.
#[derive(Debug, thiserror::Error)]
#[error(
    "the database's sealed data needs master key {needs}, which {origin} does not hold \
     (it holds {have:?}). Every node must share one key ring: start with the ring the \
     data was written under ({ENV} or master_key_file)"
)]
pub struct KeyMismatch {
    pub needs: String,
    pub have: Vec<String>,
    pub origin: String,
}

/// A ring read from its source, or generated for a key file that does not
/// exist yet. A generated ring is written to its file only once the
/// database turns out to be new ([`Loaded::settle`]): a missing key file in
/// front of existing data is a mistake to report, not a reason for a new key.
pub struct Loaded {
    pub crypto: Crypto,
    pub source: Source,
    generated: Option<PathBuf>,
}

/// Loads the ring without writing anything.
pub fn load(config: &Config) -> anyhow::Result<Loaded> {
    if let Ok(v) = std::env::var(ENV) {
        return Ok(Loaded {
            crypto: Crypto::new(parse_ring(&v, ENV)?),
            source: Source::Env,
            generated: None,
        });
    }
    let path = config.master_key_file.clone();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Loaded {
            crypto: Crypto::new(parse_ring(&text, &path.display().to_string())?),
            source: Source::File(path),
            generated: None,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Loaded {
            crypto: Crypto::new(KeyRing {
                keys: vec![MasterKey::generate()],
            }),
            source: Source::File(path.clone()),
            generated: Some(path),
        }),
        Err(e) => Err(e).with_context(|| format!("reading master_key_file {}", path.display())),
    }
}

impl Loaded {
    fn origin(&self) -> String {
        match &self.source {
            Source::Env => ENV.to_string(),
            Source::File(p) if self.generated.is_some() => {
                format!("a new key (master_key_file {} does not exist)", p.display())
            }
            Source::File(p) => format!("master_key_file {}", p.display()),
        }
    }

    /// Checks the ring against the database's canary, marks a database that
    /// has none, and writes a generated key file for a new database.
    pub async fn settle(&self, store: &Store) -> anyhow::Result<()> {
        use foghorn_store::Canary;
        let canary = store.key_canary().await.context("reading the key canary")?;
        let mismatch = |needs: String| KeyMismatch {
            needs,
            have: self.crypto.key_ids(),
            origin: self.origin(),
        };
        match (&canary, &self.generated) {
            (Canary::Needs(id), _) => return Err(mismatch(id.clone()).into()),
            (Canary::Opens | Canary::Unmarked, Some(_)) => {
                return Err(mismatch("(any: data exists)".into()).into())
            }
            (Canary::Fresh, Some(path)) => self.write_generated(path)?,
            _ => {}
        }
        if canary != Canary::Opens {
            store
                .mark_key_canary()
                .await
                .context("writing the key canary")?;
            // Another node may have marked it first, under its own key.
            if let Canary::Needs(id) = store.key_canary().await? {
                return Err(mismatch(id).into());
            }
        }
        Ok(())
    }

    fn write_generated(&self, path: &Path) -> anyhow::Result<()> {
        let ring = self.crypto.ring();
        match write_ring(path, &ring, true) {
            Ok(()) => {
                eprintln!(
                    "foghorn: WARNING: no master key was configured, so a new one was generated in {}.\n\
                     foghorn: Personal data and secrets are encrypted with it: back it up, keep it secret, and\n\
                     foghorn: set {ENV} or master_key_file in production. Without it the data cannot be read.",
                    path.display()
                );
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Another process on this folder won the race: use its key.
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                self.crypto
                    .replace(parse_ring(&text, &path.display().to_string())?);
                Ok(())
            }
            Err(e) => Err(e)
                .with_context(|| format!("writing the new master key file {}", path.display())),
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Follows the key file: a rotation elsewhere reaches this node within
/// [`RELOAD_EVERY`].
pub fn spawn_reloader(crypto: Crypto, source: &Source) {
    let Source::File(path) = source.clone() else {
        return;
    };
    tokio::spawn(async move {
        let mut seen = modified(&path);
        loop {
            tokio::time::sleep(RELOAD_EVERY).await;
            let now = modified(&path);
            if now == seen {
                continue;
            }
            match std::fs::read_to_string(&path)
                .map_err(anyhow::Error::from)
                .and_then(|t| parse_ring(&t, "master key file"))
            {
                Ok(ring) => {
                    let ids: Vec<String> = ring.keys.iter().map(|k| k.id.clone()).collect();
                    crypto.replace(ring);
                    seen = now;
                    tracing::info!(keys = ?ids, "master key ring reloaded");
                }
                Err(e) => {
                    tracing::error!(error = %e, "master key file changed but could not be read; keeping the old ring")
                }
            }
        }
    });
}

/// `foghorn keys rotate-master`: a new key joins the ring (every node can
/// open with it), then becomes current (every node seals with it), every
/// sealed value is re-sealed, and the old key leaves the ring.
pub async fn rotate(config: &Config) -> anyhow::Result<()> {
    let loaded = load(config)?;
    let crypto = loaded.crypto.clone();
    let Source::File(path) = loaded.source.clone() else {
        // With keys in the environment the operator owns the list.
        bail!(
            "{ENV} is set: put the new key first in it (comma-separated, the old one after), restart the nodes, \
             run `foghorn keys rotate-master` again to re-encrypt, then drop the old key"
        );
    };
    let store = Store::connect(&config.database_url, crypto.clone())
        .await
        .context("opening the database")?;
    loaded.settle(&store).await?;
    let text = std::fs::read_to_string(&path)?;
    let mut ring = parse_ring(&text, &path.display().to_string())?;
    // Wait two reload periods between steps so every node has caught up.
    let settle = RELOAD_EVERY * 3;
    if ring.keys.len() == 1 {
        let new = MasterKey::generate();
        eprintln!("new master key {}: adding it to the ring", new.id);
        ring.keys.push(new.clone());
        write_ring(&path, &ring, false)?;
        tokio::time::sleep(settle).await;
        ring.keys.rotate_right(1);
        write_ring(&path, &ring, false)?;
        crypto.replace(ring.clone());
        eprintln!("key {} now seals new data", new.id);
        tokio::time::sleep(settle).await;
    } else {
        // A rotation was interrupted: finish it with the current key.
        crypto.replace(ring.clone());
        eprintln!(
            "resuming: key {} seals, re-encrypting what the others sealed",
            ring.keys[0].id
        );
    }
    // Running progress on a terminal; one line per pass elsewhere.
    let live = std::io::IsTerminal::is_terminal(&std::io::stderr());
    loop {
        let last = std::cell::Cell::new(0);
        let n = store
            .reseal_all(|done| {
                last.set(done);
                if live {
                    eprint!("\rre-encrypted {done} values");
                }
            })
            .await
            .context("re-encrypting")?;
        if live {
            eprintln!();
        } else {
            eprintln!("re-encrypted {} values", last.get());
        }
        if n == 0 {
            break;
        }
    }
    let current = ring.keys[0].clone();
    let retired: Vec<String> = ring.keys[1..].iter().map(|k| k.id.clone()).collect();
    ring.keys.truncate(1);
    write_ring(&path, &ring, false)?;
    store
        .audit(
            &foghorn_core::TenantId::default(),
            &foghorn_store::Audit::new("cli", "master_key.rotate", &current.id)
                .with_detail(serde_json::json!({"retired": retired})),
            chrono::Utc::now().timestamp_millis(),
        )
        .await?;
    println!(
        "master key rotated: {} is current; {:?} no longer needed",
        current.id, retired
    );
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_parse_from_files_and_lists() {
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        let ring = KeyRing {
            keys: vec![a.clone(), b.clone()],
        };
        let parsed = parse_ring(&ring_text(&ring), "file").unwrap();
        assert_eq!(
            parsed.keys.iter().map(|k| k.id.clone()).collect::<Vec<_>>(),
            vec![a.id.clone(), b.id.clone()]
        );
        let listed = parse_ring(&format!("{}, {}", b.to_base64(), a.to_base64()), ENV).unwrap();
        assert_eq!(listed.keys[0].id, b.id);
        assert!(parse_ring("# only a comment, nothing else\n", "file").is_err());
        let err = parse_ring("bm90IGEga2V5", "file").unwrap_err();
        assert!(format!("{err:#}").contains("32 bytes"), "{err:#}");
    }
}
