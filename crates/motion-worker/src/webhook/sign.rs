//! Standard Webhooks 1.0 signatures (contract §8.4).
//!
//! The signed content is `<webhook-id>.<webhook-timestamp>.<body>`; the header value is
//! `v1,` + base64 (standard alphabet, padded) of its HMAC-SHA256 under the secret's key, which
//! is the base64-decoded part of `whsec_<base64>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Prefix of every webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret.
pub const SECRET_BYTES: usize = 32;

/// A malformed secret (not `whsec_<base64>`).
#[derive(Debug, thiserror::Error)]
#[error("webhook secret is not whsec_<base64>")]
pub struct BadSecret;

/// A fresh `whsec_` secret of 32 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The HMAC key of a `whsec_` secret.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, BadSecret> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).ok_or(BadSecret)?;
    let key = STANDARD.decode(b64).map_err(|_| BadSecret)?;
    if key.is_empty() {
        return Err(BadSecret);
    }
    Ok(key)
}

/// The `webhook-signature` header value.
pub fn signature(key: &[u8], webhook_id: &str, timestamp_s: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // Computed independently with Python: base64(hmac.new(key, b"msg_1_99.1700000000.{}", sha256)).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let key = secret_key(secret).unwrap();
        let sig = signature(&key, "msg_1_99", 1_700_000_000, b"{}");
        assert_eq!(sig, "v1,YRYVI0jND2rrIdFkf4ogs4BAOznS40qIATNSqj849UY=");
    }

    #[test]
    fn new_secrets_are_random_and_well_formed() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert_eq!(secret_key(&a).unwrap().len(), SECRET_BYTES);
        assert!(secret_key("nope").is_err());
        assert!(secret_key("whsec_!!!").is_err());
        assert!(secret_key("whsec_").is_err());
    }

    #[test]
    fn signature_depends_on_every_part() {
        let key = b"k";
        let base = signature(key, "msg_1_10", 5, b"body");
        assert_ne!(base, signature(key, "msg_1_99", 5, b"body"));
        assert_ne!(base, signature(key, "msg_1_10", 6, b"body"));
        assert_ne!(base, signature(key, "msg_1_10", 5, b"bodY"));
        assert_ne!(base, signature(b"j", "msg_1_10", 5, b"body"));
    }
}
