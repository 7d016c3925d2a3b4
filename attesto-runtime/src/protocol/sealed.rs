//! Sealed values: state the server hands to a browser and reads back later, encrypted and
//! authenticated, so that it stores nothing in between.
//!
//! The authorization endpoint uses it for the login resume handle: a request waiting for the user
//! to sign in at the host's login page travels inside the handle, not in the store, so that an
//! anonymous flood of authorization requests costs no memory at all (RFC 9700 §4: bound what
//! unauthenticated input costs).
//!
//! AES-256-GCM-SIV (RFC 8452) with a random 96-bit nonce per value: misuse-resistant, so even
//! a repeated nonce (after some 2^48 values under one key) reveals only that two values were
//! equal, never the key stream. Each purpose has its own key, derived from the provider's secret
//! with HMAC-SHA256 under a label, and the value is bound to its context (the issuer) as
//! additional data: a value sealed for one purpose or one provider does not open for another.

use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The longest sealed value [`SealingKey::open`] decodes: a bound on the work an anonymous
/// handle can cause, above the largest real one (a request with every value at its limit, the
/// 8 KiB `claims` parameter of OIDC Core §5.5 included, seals to under 32 KiB:
/// `tests/it/authorize.rs::a_request_at_every_bound_survives_the_login_page`).
const MAX_SEALED_LEN: usize = 36 * 1024;

/// A key for one purpose of sealed values.
pub(crate) struct SealingKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

impl SealingKey {
    /// The key of `purpose`, derived from `secret`.
    pub(crate) fn derive(secret: &[u8; 32], purpose: &str) -> Self {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), purpose.as_bytes());
        let key = match UnboundKey::new(&AES_256_GCM_SIV, derived.as_ref()) {
            Ok(key) => key,
            // A 32-byte key is what AES-256 takes: this cannot fail.
            Err(_) => unreachable!("AES-256-GCM-SIV takes a 32-byte key"),
        };
        Self { key: LessSafeKey::new(key) }
    }

    /// `plaintext` sealed and bound to `context`: base64url of nonce, ciphertext and tag.
    pub(crate) fn seal(&self, context: &[u8], plaintext: &[u8]) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut in_out = plaintext.to_vec();
        // Sealing fails only for inputs beyond the algorithm's limits (2^36 bytes); the values
        // sealed here are a few KiB.
        if self
            .key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(context), &mut in_out)
            .is_err()
        {
            unreachable!("a value of a few KiB is within AES-GCM-SIV's limits");
        }
        let mut sealed = Vec::with_capacity(NONCE_LEN + in_out.len());
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&in_out);
        URL_SAFE_NO_PAD.encode(sealed)
    }

    /// The plaintext of a value sealed by [`seal`](Self::seal) with this key and `context`;
    /// `None` for anything else (altered, truncated, another key or context, too long).
    pub(crate) fn open(&self, context: &[u8], sealed: &str) -> Option<Vec<u8>> {
        if sealed.len() > MAX_SEALED_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (nonce, ciphertext) = bytes.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self.key.open_in_place(nonce, Aad::from(context), &mut in_out).ok()?;
        Some(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(purpose: &str) -> SealingKey {
        SealingKey::derive(&[7; 32], purpose)
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_context_only() {
        let sealed = key("login").seal(b"https://issuer", b"the request");
        assert_eq!(key("login").open(b"https://issuer", &sealed).as_deref(), Some(&b"the request"[..]));
        assert_eq!(key("consent").open(b"https://issuer", &sealed), None, "another purpose's key");
        assert_eq!(key("login").open(b"https://other", &sealed), None, "another context");
        assert_eq!(SealingKey::derive(&[8; 32], "login").open(b"https://issuer", &sealed), None, "another secret");
    }

    #[test]
    fn an_altered_or_truncated_value_does_not_open() {
        let login = key("login");
        let sealed = login.seal(b"c", b"the request");
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).expect("base64url");
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            assert_eq!(login.open(b"c", &URL_SAFE_NO_PAD.encode(&bytes)), None, "byte {i} flipped");
            bytes[i] ^= 1;
        }
        for len in 0..bytes.len() {
            assert_eq!(login.open(b"c", &URL_SAFE_NO_PAD.encode(&bytes[..len])), None, "truncated to {len}");
        }
        assert_eq!(login.open(b"c", "not base64url!"), None);
        assert_eq!(login.open(b"c", &"A".repeat(MAX_SEALED_LEN + 1)), None);
    }

    #[test]
    fn sealing_twice_gives_two_values() {
        let login = key("login");
        assert_ne!(login.seal(b"c", b"same"), login.seal(b"c", b"same"), "a fresh nonce each time");
    }
}
