//! Webhook secrets at rest: sealed with ChaCha20-Poly1305 under the server's master key.
//!
//! A sealed secret is `nonce (12 bytes) || ciphertext+tag`. The user id is the associated
//! data, so a sealed secret copied onto another user's row does not open.

use std::fmt;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use motion_core::clock::Clock;
use motion_core::domain::UserId;
use motion_core::ports::{StoreError, UserStore};

use super::sign::new_secret;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("master key must be base64 of 32 bytes")]
    BadMasterKey,
    #[error("master key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a stored webhook secret does not open with this master key (was the key changed?)")]
    Undecryptable,
    #[error("no such user: {0}")]
    NoSuchUser(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The 32-byte key that seals webhook secrets. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey(Key);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        Self(ChaCha20Poly1305::generate_key(&mut OsRng))
    }

    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::BadMasterKey)?;
        if bytes.len() != 32 {
            return Err(SecretError::BadMasterKey);
        }
        Ok(Self(*Key::from_slice(&bytes)))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_slice())
    }

    /// Reads the key file, or creates it (mode 0600) with a new key. The new key is written to a
    /// private temporary file and linked into place complete, and only if no key is there yet:
    /// processes starting together agree on one key and never read a half-written file (a
    /// worker once read the api's empty, just-created file and refused to start).
    pub fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        let err = |source| SecretError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::from_base64(&text),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
            Err(_) => {}
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(err)?;
        let key = Self::generate();
        // tempfile creates it with mode 0600.
        let mut pending = tempfile::Builder::new()
            .prefix(".master.key.")
            .tempfile_in(dir)
            .map_err(err)?;
        writeln!(pending, "{}", key.to_base64()).map_err(err)?;
        pending.as_file().sync_all().map_err(err)?;
        match pending.persist_noclobber(path) {
            Ok(_) => Ok(key),
            // Someone else created it in between: use theirs.
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::from_base64(&std::fs::read_to_string(path).map_err(err)?)
            }
            Err(e) => Err(err(e.error)),
        }
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let cipher = ChaCha20Poly1305::new(&self.0);
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("ChaCha20-Poly1305 sealing cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let cipher = ChaCha20Poly1305::new(&self.0);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| SecretError::Undecryptable)
    }
}

fn aad(user: UserId) -> Vec<u8> {
    format!("motiond-webhook-secret:{user}").into_bytes()
}

/// The users' webhook secrets: created on first use, shown and rotated by the admin CLI,
/// read by the deliverer at every attempt (so a rotation applies to retries too).
pub struct WebhookSecrets {
    users: Arc<dyn UserStore>,
    key: MasterKey,
    clock: Arc<dyn Clock>,
}

impl WebhookSecrets {
    pub fn new(users: Arc<dyn UserStore>, key: MasterKey, clock: Arc<dyn Clock>) -> Self {
        Self { users, key, clock }
    }

    /// The user's secret, creating one if the user has none yet.
    /// Two first uses at once (two deliveries, a delivery and `webhook-secret show`) store one
    /// secret between them: a secret replaced after it signed an event would leave that event
    /// unverifiable.
    pub async fn get_or_create(&self, user: UserId) -> Result<String, SecretError> {
        let sealed = match self.users.webhook_secret(user).await? {
            Some(sealed) => sealed,
            None => {
                let fresh = self.key.seal(new_secret().as_bytes(), &aad(user));
                self.users
                    .first_webhook_secret(user, &fresh)
                    .await?
                    .ok_or_else(|| SecretError::NoSuchUser(format!("id {user}")))?
            }
        };
        let clear = self.key.open(&sealed, &aad(user))?;
        String::from_utf8(clear).map_err(|_| SecretError::Undecryptable)
    }

    /// Replaces the user's secret with a new one and returns it.
    pub async fn rotate(&self, user: UserId) -> Result<String, SecretError> {
        let secret = new_secret();
        let sealed = self.key.seal(secret.as_bytes(), &aad(user));
        self.users.set_webhook_secret(user, &sealed).await?;
        Ok(secret)
    }

    /// `webhook-secret show --user NAME` (creates the user's secret, not the user).
    pub async fn show_by_name(&self, name: &str) -> Result<String, SecretError> {
        let user = self
            .users
            .user_by_name(name)
            .await?
            .ok_or_else(|| SecretError::NoSuchUser(name.to_string()))?;
        self.get_or_create(user.id).await
    }

    /// `webhook-secret rotate --user NAME`.
    pub async fn rotate_by_name(&self, name: &str) -> Result<String, SecretError> {
        let user = self
            .users
            .user_by_name(name)
            .await?
            .ok_or_else(|| SecretError::NoSuchUser(name.to_string()))?;
        self.rotate(user.id).await
    }

    /// Ensures a user (by name) exists with a secret; used when users are created.
    pub async fn ensure_user_secret(&self, name: &str) -> Result<UserId, SecretError> {
        let user = self.users.ensure_user(name, self.clock.now_ms()).await?;
        self.get_or_create(user.id).await?;
        Ok(user.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let k = MasterKey::generate();
        let sealed = k.seal(b"whsec_abc", b"user:1");
        assert!(
            !sealed.windows(9).any(|w| w == b"whsec_abc"),
            "clear text must not appear"
        );
        assert_eq!(k.open(&sealed, b"user:1").unwrap(), b"whsec_abc");
        assert!(k.open(&sealed, b"user:2").is_err(), "bound to its user");
        assert!(
            MasterKey::generate().open(&sealed, b"user:1").is_err(),
            "other key"
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(k.open(&tampered, b"user:1").is_err());
        assert!(k.open(&[1, 2, 3], b"user:1").is_err());
    }

    #[test]
    fn key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        let a = MasterKey::load_or_create(&path).unwrap();
        let b = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(a.to_base64(), b.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(format!("{a:?}").contains("***"));
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }

    /// Processes starting together on a fresh data directory (here: threads) all get the one
    /// key, never a half-written file, and leave no temporary file behind.
    #[test]
    fn racing_creators_agree_on_one_key() {
        for _ in 0..30 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("master.key");
            let start = std::sync::Barrier::new(8);
            let keys: Vec<String> = std::thread::scope(|s| {
                let racers: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            MasterKey::load_or_create(&path).unwrap().to_base64()
                        })
                    })
                    .collect();
                racers.into_iter().map(|r| r.join().unwrap()).collect()
            });
            assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }
}
