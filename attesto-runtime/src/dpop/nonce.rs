//! Server-provided DPoP nonces (RFC 9449 §8, §9), stateless, so that instances sharing a secret
//! verify each other's nonces without shared storage: a nonce is
//! `base64url(window || HMAC-SHA256(secret, label || window)[..16])`, where `window` is the current
//! five-minute period (Unix time / 300, 8 bytes big-endian). A nonce of the current or the previous
//! window is accepted, so one lives between five and ten minutes.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// How long one nonce window lasts, in seconds. A nonce is accepted in its own window and the
/// next, so a client refreshes it at most every five minutes and a stolen-key attacker cannot
/// pre-generate proofs for more than ten.
const NONCE_PERIOD: u64 = 300;

/// The bytes of the HMAC kept in a nonce: 128 bits make a forgery as likely as guessing a key.
const NONCE_TAG_LEN: usize = 16;

/// The length of a nonce: the 8-byte window and the tag, base64url (32 characters).
const NONCE_LEN: usize = (8 + NONCE_TAG_LEN) * 4 / 3;

/// Domain separation: the HMAC of a nonce is of this label and the window, so that the secret
/// never signs anything a nonce could be confused with.
const NONCE_LABEL: &[u8] = b"attesto DPoP nonce v1\0";

/// The HMAC-SHA256 key of the server nonces.
#[derive(Debug, Clone)]
pub(crate) struct NonceKey(hmac::Key);

impl NonceKey {
    pub(crate) fn new(secret: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The tag of a window.
    fn tag(&self, window: u64) -> [u8; NONCE_TAG_LEN] {
        let mut message = [0u8; NONCE_LABEL.len() + 8];
        message[..NONCE_LABEL.len()].copy_from_slice(NONCE_LABEL);
        message[NONCE_LABEL.len()..].copy_from_slice(&window.to_be_bytes());
        let full = hmac::sign(&self.0, &message);
        let mut tag = [0u8; NONCE_TAG_LEN];
        tag.copy_from_slice(&full.as_ref()[..NONCE_TAG_LEN]);
        tag
    }

    /// The nonce of the window that `now` (Unix seconds) falls in.
    pub(crate) fn issue(&self, now: u64) -> String {
        let window = now / NONCE_PERIOD;
        let mut bytes = [0u8; 8 + NONCE_TAG_LEN];
        bytes[..8].copy_from_slice(&window.to_be_bytes());
        bytes[8..].copy_from_slice(&self.tag(window));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` was made with this key for the current window or the previous one.
    pub(crate) fn verify(&self, nonce: &str, now: u64) -> bool {
        if nonce.len() != NONCE_LEN {
            return false;
        }
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((window, tag)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        let window = u64::from_be_bytes(*window);
        let current = now / NONCE_PERIOD;
        // RFC 9449 §8: the server decides how long a nonce is good for; the previous window too,
        // so that a nonce issued just before a boundary still works for the retry.
        if window != current && window.checked_add(1) != Some(current) {
            return false;
        }
        bool::from(tag.ct_eq(&self.tag(window)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn a_nonce_is_accepted_in_its_window_and_the_next() {
        let key = NonceKey::new(&[7; 32]);
        let nonce = key.issue(NOW);
        assert_eq!(nonce.len(), NONCE_LEN);
        let window_start = NOW / NONCE_PERIOD * NONCE_PERIOD;
        assert!(key.verify(&nonce, NOW));
        assert!(key.verify(&nonce, window_start));
        assert!(key.verify(&nonce, window_start + NONCE_PERIOD - 1));
        assert!(key.verify(&nonce, window_start + NONCE_PERIOD), "the previous window is accepted");
        assert!(key.verify(&nonce, window_start + 2 * NONCE_PERIOD - 1));
        assert!(!key.verify(&nonce, window_start + 2 * NONCE_PERIOD), "two windows old is stale");
        assert!(!key.verify(&nonce, window_start - 1), "a nonce of a future window is refused");
    }

    #[test]
    fn a_nonce_is_bound_to_its_key_and_window() {
        let key = NonceKey::new(&[7; 32]);
        let other = NonceKey::new(&[8; 32]);
        assert!(!other.verify(&key.issue(NOW), NOW), "another secret");
        assert_eq!(key.issue(NOW), NonceKey::new(&[7; 32]).issue(NOW), "one secret, one nonce per window");
        // A nonce whose window is moved forward keeps the old tag: refused.
        let mut bytes = URL_SAFE_NO_PAD.decode(key.issue(NOW)).expect("base64url");
        bytes[7] = bytes[7].wrapping_add(1);
        assert!(!key.verify(&URL_SAFE_NO_PAD.encode(&bytes), NOW + NONCE_PERIOD));
        // A flipped tag bit.
        let mut bytes = URL_SAFE_NO_PAD.decode(key.issue(NOW)).expect("base64url");
        bytes[20] ^= 1;
        assert!(!key.verify(&URL_SAFE_NO_PAD.encode(&bytes), NOW));
    }

    #[test]
    fn malformed_nonces_are_refused() {
        let key = NonceKey::new(&[7; 32]);
        let nonce = key.issue(NOW);
        for bad in [
            String::new(),
            "x".repeat(NONCE_LEN),
            format!("{nonce}A"),
            nonce[..NONCE_LEN - 1].to_owned(),
            format!("{}=", &nonce[..NONCE_LEN - 1]),
            nonce.replace(['-', '_'], "+"),
        ] {
            if bad != nonce {
                assert!(!key.verify(&bad, NOW), "{bad}");
            }
        }
        // The largest window does not overflow.
        let mut bytes = [0xffu8; 24];
        bytes[8..].copy_from_slice(&key.tag(u64::MAX));
        assert!(!key.verify(&URL_SAFE_NO_PAD.encode(bytes), NOW));
    }
}
