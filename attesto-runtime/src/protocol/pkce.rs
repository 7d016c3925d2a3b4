//! PKCE (RFC 7636), S256 only: the challenge of an authorization request, the verifier of the
//! token request, and whether they match.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The PKCE challenge of a request (RFC 7636 §4.3): S256 only, for every client (OAuth 2.1
/// §4.1.1, RFC 9700 §2.1.1). A missing method means `plain`, which is refused too.
pub(crate) fn code_challenge<'f>(challenge: Option<&'f str>, method: Option<&str>) -> Result<&'f str, &'static str> {
    let challenge = match (challenge, method) {
        (None, _) => return Err("missing `code_challenge` (PKCE with S256 is required)"),
        (Some(_), None | Some("plain")) => return Err("`code_challenge_method` must be S256"),
        (Some(_), Some(method)) if method != "S256" => return Err("`code_challenge_method` must be S256"),
        (Some(challenge), Some(_)) => challenge,
    };
    // An S256 challenge is the base64url of a SHA-256: exactly 43 characters.
    if challenge.len() != 43 || URL_SAFE_NO_PAD.decode(challenge).map_or(true, |d| d.len() != 32) {
        return Err("`code_challenge` is not a base64url SHA-256 value");
    }
    Ok(challenge)
}

/// Whether a `code_verifier` is well formed (RFC 7636 §4.1): 43 to 128 unreserved characters.
pub(crate) fn verifier_is_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len()) && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Whether `verifier` is the verifier of the S256 `challenge` (RFC 7636 §4.6), compared in
/// constant time.
pub(crate) fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn pkce_is_s256_only() {
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Result<&'a str, &'a str>);
        let cases: &[Case<'_>] = &[
            (Some(CHALLENGE), Some("S256"), Ok(CHALLENGE)),
            (None, Some("S256"), Err("missing `code_challenge` (PKCE with S256 is required)")),
            (None, None, Err("missing `code_challenge` (PKCE with S256 is required)")),
            (Some(CHALLENGE), None, Err("`code_challenge_method` must be S256")),
            (Some(CHALLENGE), Some("plain"), Err("`code_challenge_method` must be S256")),
            (Some(CHALLENGE), Some("s256"), Err("`code_challenge_method` must be S256")),
            (Some("short"), Some("S256"), Err("`code_challenge` is not a base64url SHA-256 value")),
            (Some(&CHALLENGE[..42]), Some("S256"), Err("`code_challenge` is not a base64url SHA-256 value")),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
                Some("S256"),
                Err("`code_challenge` is not a base64url SHA-256 value"),
            ),
        ];
        for (challenge, method, expected) in cases {
            assert_eq!(code_challenge(*challenge, *method), *expected, "{challenge:?} {method:?}");
        }
    }

    #[test]
    fn verifiers_are_43_to_128_unreserved_characters() {
        let cases: &[(&str, bool)] = &[
            (VERIFIER, true),
            (&"a".repeat(43), true),
            (&"a".repeat(128), true),
            (&"a".repeat(42), false),
            (&"a".repeat(129), false),
            ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~", true),
            (&format!("{}+", "a".repeat(43)), false),
            (&format!("{}/", "a".repeat(43)), false),
            (&format!("{} ", "a".repeat(43)), false),
            (&format!("{}é", "a".repeat(43)), false),
            ("", false),
        ];
        for (verifier, expected) in cases {
            assert_eq!(verifier_is_well_formed(verifier), *expected, "{verifier:?}");
        }
    }

    #[test]
    fn a_verifier_matches_only_its_challenge() {
        assert!(verifier_matches(VERIFIER, CHALLENGE));
        let cases: &[(&str, &str)] = &[
            (VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"),
            (VERIFIER, "e9melhoa2owvfremtjguchaoek1t8urwbugjsstw-cm"),
            (VERIFIER, ""),
            ("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", CHALLENGE),
            (CHALLENGE, CHALLENGE),
        ];
        for (verifier, challenge) in cases {
            assert!(!verifier_matches(verifier, challenge), "{verifier} {challenge}");
        }
    }
}
