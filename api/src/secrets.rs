//! Secrets sealed at rest: channel app/client secrets, access and verify tokens, and the
//! generated JWT key are stored as `sealed:v1:<key id>:<base64(nonce | ciphertext)>`, encrypted
//! with XChaCha20-Poly1305 under a random 24-byte nonce. The row's identity (table, column,
//! tenant and row id) is the associated data, so a sealed value copied into another row, column
//! or tenant does not open: a database dump alone reveals no secret and a database write alone
//! cannot move one tenant's secret under another.
//!
//! Keys (see README "Secrets at rest"):
//! - `LEADLINE_SECRET_KEY=<id>:<base64 of 32 bytes>` (or just the base64; the id is then derived
//!   from the key) is the current key: every new value is sealed with it.
//! - `LEADLINE_SECRET_KEYS_OLD=<id>:<key>,…` are keys that still open values sealed before a
//!   rotation (`leadline rotate-secrets` re-seals them with the current key, after which they
//!   can be dropped).
//! - Without `LEADLINE_SECRET_KEY`, a key is generated once into a key file (mode 0600): beside
//!   the SQLite file (`leadline.key`), or in the working directory for PostgreSQL, or at
//!   `LEADLINE_SECRET_KEY_FILE`. Never inside the database. When the variable is set and the key
//!   file exists, the file's key is still accepted for opening (so moving from the file to the
//!   variable is `rotate-secrets` with the variable set, then deleting the file).
//!
//! This module owns key loading and the sealed format; it does no database IO (the store calls
//! it) and reads no environment variable (`Config` does).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The prefix of every sealed value (format version 1).
pub const SEALED_PREFIX: &str = "sealed:v1:";
/// The key file's name beside the SQLite database (or in the working directory).
pub const KEY_FILE_NAME: &str = "leadline.key";
/// XChaCha20-Poly1305's nonce length.
const NONCE_LEN: usize = 24;
/// Key ids are short and plain so they fit in the sealed value and a config line.
const MAX_KEY_ID_LEN: usize = 32;

/// Why a value could not be sealed or opened. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The stored value is not in the sealed format (plain text or garbage).
    #[error("the stored value is not sealed")]
    NotSealed,
    /// Sealed with a key this process does not have.
    #[error("sealed with key id `{0}`, which is not configured (LEADLINE_SECRET_KEY / LEADLINE_SECRET_KEYS_OLD)")]
    UnknownKey(String),
    /// The ciphertext was changed, or belongs to another row, or the key is wrong.
    #[error("the sealed value does not open: tampered, moved from another row, or a wrong key")]
    Corrupt,
}

/// Where a sealed value lives: its associated data. A value opens only in the same place.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    /// Table name.
    pub table: &'a str,
    /// Column name.
    pub column: &'a str,
    /// Tenant id (`-` for instance-wide rows).
    pub tenant: &'a str,
    /// Row id (or key).
    pub row: &'a str,
}

impl Slot<'_> {
    fn associated_data(&self) -> Vec<u8> {
        // Length-prefixed parts, so no choice of ids can make two slots encode the same bytes.
        let mut out = b"leadline/sealed/v1".to_vec();
        for part in [self.table, self.column, self.tenant, self.row] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// One key: its id and the cipher (which wipes its key when dropped).
struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SecretKey {
    fn new(id: String, material: &[u8; 32]) -> Self {
        Self {
            id,
            cipher: XChaCha20Poly1305::new(&Key::from(*material)),
        }
    }
}

/// Seals and opens secrets with the current key and any older ones.
pub struct Sealer {
    /// `keys[0]` is the current key.
    keys: Vec<SecretKey>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

/// A parsed `<id>:<base64>` key specification (the material is wiped when dropped).
pub struct KeySpec {
    /// The key id.
    pub id: String,
    material: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySpec")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl KeySpec {
    /// A fresh random key with an id derived from it.
    pub fn generate() -> Self {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut material = Zeroizing::new([0u8; 32]);
        material.copy_from_slice(&key);
        Self {
            id: derived_id(&material),
            material,
        }
    }

    /// Parses `<id>:<base64 of 32 bytes>` or a bare base64 key (its id is then derived from it).
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let spec = spec.trim();
        let (id, encoded) = match spec.split_once(':') {
            Some((id, encoded)) => (Some(id.trim()), encoded.trim()),
            None => (None, spec),
        };
        let decoded = Zeroizing::new(
            B64.decode(encoded)
                .context("a secret key must be base64 (e.g. `openssl rand -base64 32`)")?,
        );
        if decoded.len() != 32 {
            bail!(
                "a secret key must be exactly 32 bytes, got {}",
                decoded.len()
            );
        }
        let mut material = Zeroizing::new([0u8; 32]);
        material.copy_from_slice(&decoded);
        let id = match id {
            Some(id) => {
                if id.is_empty()
                    || id.len() > MAX_KEY_ID_LEN
                    || !id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    bail!("a key id must be 1 to {MAX_KEY_ID_LEN} characters of A-Z, a-z, 0-9, - or _");
                }
                id.to_owned()
            }
            None => derived_id(&material),
        };
        Ok(Self { id, material })
    }

    /// `<id>:<base64>`, the key file's line.
    fn to_line(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}:{}", self.id, B64.encode(*self.material)))
    }
}

/// A key id from the key itself (`k` + 8 hex digits of a hash): a process holding a different
/// key sees an unknown key id instead of a value that fails to open.
fn derived_id(material: &[u8; 32]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"leadline key id");
    hash.update(material);
    let digest = hash.finalize();
    format!(
        "k{:02x}{:02x}{:02x}{:02x}",
        digest[0], digest[1], digest[2], digest[3]
    )
}

/// Parses `LEADLINE_SECRET_KEYS_OLD`: comma-separated key specs.
pub fn parse_key_list(list: &str) -> anyhow::Result<Vec<KeySpec>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, spec)| {
            KeySpec::parse(spec)
                .with_context(|| format!("LEADLINE_SECRET_KEYS_OLD entry {}", i + 1))
        })
        .collect()
}

impl Sealer {
    /// A sealer with `current` for new values and `old` for opening older ones. Duplicate ids
    /// must carry the same key (a second, different key under one id is a configuration error).
    pub fn new(current: KeySpec, old: Vec<KeySpec>) -> anyhow::Result<Self> {
        let mut specs: Vec<KeySpec> = Vec::with_capacity(old.len() + 1);
        for spec in std::iter::once(current).chain(old) {
            match specs.iter().find(|s| s.id == spec.id) {
                Some(known) if *known.material == *spec.material => {}
                Some(_) => bail!("two different secret keys share the id `{}`", spec.id),
                None => specs.push(spec),
            }
        }
        Ok(Self {
            keys: specs
                .into_iter()
                .map(|s| SecretKey::new(s.id.clone(), &s.material))
                .collect(),
        })
    }

    /// A sealer with a random key held only in memory (in-memory databases and unit tests).
    pub fn ephemeral() -> Self {
        let spec = KeySpec::generate();
        Self {
            keys: vec![SecretKey::new(spec.id.clone(), &spec.material)],
        }
    }

    /// The keys from configuration (`Config::key_sources`): `LEADLINE_SECRET_KEY`
    /// (+ `LEADLINE_SECRET_KEYS_OLD`), else the key file, generated on first start. See the
    /// module docs.
    pub fn from_sources(sources: &KeySources) -> anyhow::Result<Self> {
        let old = match &sources.old {
            Some(list) => parse_key_list(list)?,
            None => Vec::new(),
        };
        let file = sources.file.clone();
        if let Some(spec) = &sources.key {
            let current = KeySpec::parse(spec).context("LEADLINE_SECRET_KEY")?;
            let mut old = old;
            // The generated key of an earlier start still opens what it sealed.
            if let Some(path) = file.as_deref().filter(|p| p.exists()) {
                old.push(read_key_file(path)?);
            }
            return Self::new(current, old);
        }
        let Some(path) = file else {
            tracing::warn!(
                "no LEADLINE_SECRET_KEY and an in-memory database: secrets are sealed with a \
                 key that lives as long as this process"
            );
            return Self::new(KeySpec::generate(), old);
        };
        if sources.file_in_working_dir {
            tracing::warn!(
                path = %path.display(),
                "no LEADLINE_SECRET_KEY: sealing secrets with a key file in the working \
                 directory; replicas sharing this database must share the key (set \
                 LEADLINE_SECRET_KEY in production)"
            );
        }
        let current = load_or_create_key_file(&path)?;
        Self::new(current, old)
    }

    /// The current key's id (what `rotate-secrets` re-seals to).
    pub fn current_key_id(&self) -> &str {
        self.keys.first().map_or("", |k| k.id.as_str())
    }

    /// Every key id this sealer can open, the current first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Seals `plaintext` for `slot` with the current key.
    pub fn seal(&self, plaintext: &str, slot: &Slot<'_>) -> Result<String, SealError> {
        let key = self.keys.first().ok_or(SealError::Corrupt)?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = slot.associated_data();
        let ciphertext = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Corrupt)?;
        let mut packed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        packed.extend_from_slice(&nonce);
        packed.extend_from_slice(&ciphertext);
        Ok(format!("{SEALED_PREFIX}{}:{}", key.id, B64.encode(packed)))
    }

    /// Opens a value sealed for `slot` by any configured key.
    pub fn open(&self, stored: &str, slot: &Slot<'_>) -> Result<String, SealError> {
        let (key_id, encoded) = split_sealed(stored).ok_or(SealError::NotSealed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_owned()))?;
        let packed = B64.decode(encoded).map_err(|_| SealError::Corrupt)?;
        if packed.len() < NONCE_LEN {
            return Err(SealError::Corrupt);
        }
        let (nonce, ciphertext) = packed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Corrupt)?;
        let aad = slot.associated_data();
        let plaintext = Zeroizing::new(
            key.cipher
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| SealError::Corrupt)?,
        );
        String::from_utf8(plaintext.to_vec()).map_err(|_| SealError::Corrupt)
    }

    /// Whether `stored` needs work from the start-up sealing or a rotation: plain text, or
    /// sealed with another key than the current one.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        key_id_of(stored) != Some(self.current_key_id())
    }
}

/// Whether a stored value is in the sealed format.
pub fn is_sealed(stored: &str) -> bool {
    split_sealed(stored).is_some()
}

/// The key id of a sealed value.
pub fn key_id_of(stored: &str) -> Option<&str> {
    split_sealed(stored).map(|(id, _)| id)
}

fn split_sealed(stored: &str) -> Option<(&str, &str)> {
    let rest = stored.strip_prefix(SEALED_PREFIX)?;
    let (id, encoded) = rest.split_once(':')?;
    (!id.is_empty() && !encoded.is_empty()).then_some((id, encoded))
}

/// Where the sealing keys come from, as configured (built by `Config::key_sources`, so this
/// module never reads configuration itself).
#[derive(Clone, Default)]
pub struct KeySources {
    /// `LEADLINE_SECRET_KEY`.
    pub key: Option<String>,
    /// `LEADLINE_SECRET_KEYS_OLD`.
    pub old: Option<String>,
    /// The key file: `LEADLINE_SECRET_KEY_FILE`, else beside the SQLite file, else (PostgreSQL)
    /// in the working directory; `None` for an in-memory SQLite database.
    pub file: Option<PathBuf>,
    /// Whether `file` is the PostgreSQL fallback in the working directory (warned about: replicas
    /// must share one key).
    pub file_in_working_dir: bool,
}

impl fmt::Debug for KeySources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySources")
            .field("key", &self.key.as_ref().map(|_| "<set>"))
            .field("old", &self.old.as_ref().map(|_| "<set>"))
            .field("file", &self.file)
            .finish()
    }
}

/// Reads the key file, or creates it (mode 0600, never overwriting: a concurrent start that
/// created it first wins and both use its key).
///
/// The key is written to a private temporary file first and published under `path` with a hard
/// link, which fails if `path` exists. So a reader never sees a half-written file: either the
/// name does not exist yet or it holds a whole key (a concurrent start once read it empty).
pub fn load_or_create_key_file(path: &Path) -> anyhow::Result<KeySpec> {
    if path.exists() {
        return read_key_file(path);
    }
    let spec = KeySpec::generate();
    let staging = staging_path(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&staging).and_then(|mut file| {
        use std::io::Write;
        let line = spec.to_line();
        file.write_all(line.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&staging);
        return Err(error)
            .with_context(|| format!("writing the secret key file {}", path.display()));
    }
    let published = std::fs::hard_link(&staging, path);
    let _ = std::fs::remove_file(&staging);
    match published {
        Ok(()) => {
            tracing::info!(path = %path.display(), key_id = %spec.id, "generated the secret key file; back it up with the database");
            Ok(spec)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(path),
        Err(error) => {
            Err(error).with_context(|| format!("creating the secret key file {}", path.display()))
        }
    }
}

/// A name beside `path` that no other start uses (same directory, so the link stays on one
/// file system).
fn staging_path(path: &Path) -> std::path::PathBuf {
    let mut name = path
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    path.with_file_name(name)
}

fn read_key_file(path: &Path) -> anyhow::Result<KeySpec> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the secret key file is readable by others; chmod 600 it");
            }
        }
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("reading the secret key file {}", path.display()))?,
    );
    KeySpec::parse(&text).with_context(|| format!("the secret key file {}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const A: &str = "a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const B: &str = "b:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

    fn slot(row: &str) -> Slot<'_> {
        Slot {
            table: "channel_connections",
            column: "app_secret",
            tenant: "t1",
            row,
        }
    }

    fn sealer(current: &str, old: &[&str]) -> Sealer {
        Sealer::new(
            KeySpec::parse(current).unwrap(),
            old.iter().map(|s| KeySpec::parse(s).unwrap()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn a_sealed_value_opens_to_the_plaintext_and_hides_it() {
        let sealer = sealer(A, &[]);
        let sealed = sealer.seal("app-secret-123", &slot("r1")).unwrap();
        assert!(sealed.starts_with("sealed:v1:a:"), "{sealed}");
        assert!(!sealed.contains("app-secret-123"));
        assert!(is_sealed(&sealed));
        assert_eq!(key_id_of(&sealed), Some("a"));
        assert_eq!(sealer.open(&sealed, &slot("r1")).unwrap(), "app-secret-123");
        // A fresh nonce each time: the same secret never seals to the same text.
        assert_ne!(sealer.seal("app-secret-123", &slot("r1")).unwrap(), sealed);
        assert_eq!(
            sealer.open(&sealer.seal("", &slot("r1")).unwrap(), &slot("r1")),
            Ok(String::new())
        );
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let sealer = sealer(A, &[]);
        let sealed = sealer.seal("app-secret-123", &slot("r1")).unwrap();
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut bytes = B64.decode(body).unwrap();
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            let forged = format!("{head}:{}", B64.encode(&changed));
            assert_eq!(
                sealer.open(&forged, &slot("r1")),
                Err(SealError::Corrupt),
                "{i}"
            );
        }
        bytes.truncate(NONCE_LEN - 1);
        let short = format!("{head}:{}", B64.encode(&bytes));
        assert_eq!(sealer.open(&short, &slot("r1")), Err(SealError::Corrupt));
        assert_eq!(
            sealer.open("sealed:v1:a:not base64!", &slot("r1")),
            Err(SealError::Corrupt)
        );
        assert_eq!(
            sealer.open("app-secret-123", &slot("r1")),
            Err(SealError::NotSealed)
        );
    }

    #[test]
    fn a_value_moved_to_another_row_column_or_tenant_does_not_open() {
        let sealer = sealer(A, &[]);
        let sealed = sealer.seal("app-secret-123", &slot("r1")).unwrap();
        assert_eq!(sealer.open(&sealed, &slot("r2")), Err(SealError::Corrupt));
        let other_column = Slot {
            column: "access_token",
            ..slot("r1")
        };
        assert_eq!(sealer.open(&sealed, &other_column), Err(SealError::Corrupt));
        let other_tenant = Slot {
            tenant: "t2",
            ..slot("r1")
        };
        assert_eq!(sealer.open(&sealed, &other_tenant), Err(SealError::Corrupt));
        // Length prefixes: shifting characters between parts is another slot.
        let shifted = Slot {
            tenant: "t",
            row: "1r1",
            ..slot("r1")
        };
        assert_eq!(sealer.open(&sealed, &shifted), Err(SealError::Corrupt));
    }

    #[test]
    fn a_wrong_key_under_the_same_id_does_not_open_and_an_unknown_id_is_named() {
        let sealed = sealer(A, &[]).seal("s", &slot("r1")).unwrap();
        let impostor = sealer("a:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=", &[]);
        assert_eq!(impostor.open(&sealed, &slot("r1")), Err(SealError::Corrupt));
        let other = sealer(B, &[]);
        assert_eq!(
            other.open(&sealed, &slot("r1")),
            Err(SealError::UnknownKey("a".into()))
        );
    }

    #[test]
    fn rotation_opens_old_values_and_reseals_them_with_the_current_key() {
        let before = sealer(A, &[]);
        let old_value = before.seal("s3cr3t", &slot("r1")).unwrap();
        let during = sealer(B, &[A]);
        assert_eq!(during.current_key_id(), "b");
        assert_eq!(during.key_ids(), vec!["b", "a"]);
        assert!(during.needs_reseal(&old_value));
        assert!(during.needs_reseal("plain text"));
        let opened = during.open(&old_value, &slot("r1")).unwrap();
        let resealed = during.seal(&opened, &slot("r1")).unwrap();
        assert!(!during.needs_reseal(&resealed));
        assert_eq!(key_id_of(&resealed), Some("b"));
        // Once rotated, the old key can go.
        let after = sealer(B, &[]);
        assert_eq!(after.open(&resealed, &slot("r1")).unwrap(), "s3cr3t");
        assert_eq!(
            after.open(&old_value, &slot("r1")),
            Err(SealError::UnknownKey("a".into()))
        );
    }

    #[test]
    fn key_specs_are_validated_and_ids_derived_when_absent() {
        let bare = KeySpec::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert!(
            bare.id.starts_with('k') && bare.id.len() == 9,
            "{}",
            bare.id
        );
        assert_eq!(KeySpec::parse(A).unwrap().id, "a", "an explicit id is kept");
        for bad in [
            "",
            "a:",
            "a:short",
            "a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd",
            "bad id:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ":AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ] {
            assert!(KeySpec::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_key_list(&format!("{A}, {B},")).unwrap().len(), 2);
        assert!(Sealer::new(
            KeySpec::parse(A).unwrap(),
            vec![KeySpec::parse("a:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=").unwrap()]
        )
        .is_err());
        // The same key listed twice is harmless.
        assert!(Sealer::new(KeySpec::parse(A).unwrap(), vec![KeySpec::parse(A).unwrap()]).is_ok());
    }

    #[test]
    fn concurrent_starts_all_read_the_one_whole_key() {
        // CI once saw a start read the file another start had created but not yet written.
        for round in 0..40 {
            let dir =
                std::env::temp_dir().join(format!("leadline-keyrace-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(KEY_FILE_NAME);
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
            let starts: Vec<_> = (0..8)
                .map(|_| {
                    let path = path.clone();
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        barrier.wait();
                        load_or_create_key_file(&path).map(|spec| spec.id)
                    })
                })
                .collect();
            let ids: Vec<String> = starts
                .into_iter()
                .map(|start| {
                    start
                        .join()
                        .unwrap()
                        .unwrap_or_else(|e| panic!("round {round}: {e:#}"))
                })
                .collect();
            assert!(ids.iter().all(|id| *id == ids[0]), "round {round}: {ids:?}");
            let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
            assert_eq!(left.len(), 1, "round {round}: staging files left behind");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600_and_read_back() {
        let dir = std::env::temp_dir().join(format!("leadline-key-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(KEY_FILE_NAME);
        let created = load_or_create_key_file(&path).unwrap();
        let again = load_or_create_key_file(&path).unwrap();
        assert_eq!(created.id, again.id);
        assert_eq!(*created.material, *again.material);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let sealer = Sealer::new(again, Vec::new()).unwrap();
        let sealed = sealer.seal("x", &slot("r")).unwrap();
        let reread = Sealer::new(read_key_file(&path).unwrap(), Vec::new()).unwrap();
        assert_eq!(reread.open(&sealed, &slot("r")).unwrap(), "x");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
