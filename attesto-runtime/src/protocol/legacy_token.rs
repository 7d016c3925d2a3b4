//! The tokens of a replaced provider (the host's `LegacyTokens`): which presented values may be
//! one at all, so that nothing else reaches the host, and the keys under which attesto records an
//! old refresh token's exchange.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// The longest old token offered to the host. Opaque tokens are a few dozen bytes and JWTs a
/// few hundred to a couple of thousand; anything longer costs the host's lookup for nothing.
pub(crate) const MAX_BYTES: usize = 4096;

/// Whether `token` may be a refresh token at all: RFC 6749 Appendix A.17, `1*VSCHAR` (printable
/// ASCII, space included), at most [`MAX_BYTES`].
pub(crate) fn is_refresh_token_syntax(token: &str) -> bool {
    !token.is_empty() && token.len() <= MAX_BYTES && token.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// Whether `token` may be a bearer access token at all: RFC 6750 §2.1 `b64token`,
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, at most [`MAX_BYTES`].
pub(crate) fn is_bearer_token_syntax(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= MAX_BYTES
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

/// The text whose hash records an old refresh token as spent in the store's replay memory
/// (`Store::insert_dpop_jti`): apart from DPoP proofs (`thumbprint.jti`, never a `:`), client
/// assertions and request objects by its prefix. The store keeps only its SHA-256.
pub(crate) fn spent_key(token: &str) -> String {
    format!("legacy_refresh_token:{token}")
}

/// The id of the refresh family an old refresh token is exchanged for: derived from the token,
/// so that a second presentation finds the family the first one created and revokes it (RFC 9700
/// §4.14.2) without the store keeping a link. It reveals nothing of the token (a truncated
/// SHA-256 under a label of its own), and is as unique as the tokens: 128 bits, as `new_id`'s.
pub(crate) fn family_id(token: &str) -> String {
    let digest =
        Sha256::new().chain_update(b"attesto legacy refresh family\0").chain_update(token.as_bytes()).finalize();
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_token_syntax_is_printable_ascii_within_the_bound() {
        for token in ["8xLOxBtZp8", "a b", "~!@#$%^&*()", &"x".repeat(MAX_BYTES)] {
            assert!(is_refresh_token_syntax(token), "{token:?}");
        }
        for token in ["", "tab\there", "new\nline", "é", "\u{7f}", &"x".repeat(MAX_BYTES + 1)] {
            assert!(!is_refresh_token_syntax(token), "{token:?}");
        }
    }

    #[test]
    fn bearer_token_syntax_is_b64token_within_the_bound() {
        for token in ["abc", "a.b.c", "a-b_c~d+e/f==", "eyJhbGciOiJFUzI1NiJ9.e30.sig", &"x".repeat(MAX_BYTES)] {
            assert!(is_bearer_token_syntax(token), "{token:?}");
        }
        for token in ["", "==", "a b", "a=b", "a,b", "a\"b", "é", &"x".repeat(MAX_BYTES + 1)] {
            assert!(!is_bearer_token_syntax(token), "{token:?}");
        }
    }

    #[test]
    fn the_family_id_is_stable_per_token_and_apart_from_the_spent_key() {
        assert_eq!(family_id("old-1"), family_id("old-1"));
        assert_ne!(family_id("old-1"), family_id("old-2"));
        assert_eq!(family_id("old-1").len(), 22);
        assert_eq!(spent_key("old-1"), "legacy_refresh_token:old-1");
        assert!(!family_id("old-1").contains("old-1"));
    }
}
