//! Pairwise subject identifiers (OpenID Connect Core 1.0 §8.1): a client of the `pairwise`
//! subject type sees each user under a `sub` of its own sector, so that two relying parties of
//! different sectors cannot correlate their users by `sub`.
//!
//! The value is `base64url(HMAC-SHA256(secret, sector ‖ 0x00 ‖ local subject))`: §8.1 asks for a
//! value that no party other than the OP can reverse or compute, the same for one user and one
//! sector every time, and different across sectors. A keyed hash is what its example (a hash of
//! the sector, the local identifier and a salt) describes, with the salt as the key. The zero
//! byte keeps `("a.example", "bc")` and `("a.examplebc", "")` apart: a host name never contains
//! it.
//!
//! The sector identifier is a host (§8.1): the host of the client's `sector_identifier_uri`, or,
//! without one, the one host all its redirect URIs share (OpenID Connect Registration 1.0 §5).

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The secret pairwise identifiers are computed with ([`Builder::pairwise_subject_secret`]).
///
/// [`Builder::pairwise_subject_secret`]: crate::Builder::pairwise_subject_secret
#[derive(Clone)]
pub(crate) struct PairwiseKey(hmac::Key);

impl PairwiseKey {
    /// The key of `secret`.
    pub(crate) fn new(secret: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The `sub` that clients of `sector` see for the user whose own identifier is `subject`.
    pub(crate) fn subject(&self, sector: &str, subject: &str) -> String {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(sector.as_bytes());
        context.update(&[0]);
        context.update(subject.as_bytes());
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }
}

impl std::fmt::Debug for PairwiseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairwiseKey(..)")
    }
}

/// Why a registration's sector identifier cannot be found or does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SectorRefusal {
    /// Without a `sector_identifier_uri`, the redirect URIs are on several hosts (or on none: a
    /// private-use scheme), so no one host is their sector (Registration §5).
    NoCommonHost,
    /// The document at `sector_identifier_uri` does not list every redirect URI (Registration §5:
    /// "MUST be included"). Only a server that fetches the document (feature `fetch`) finds it.
    #[cfg_attr(not(feature = "fetch"), allow(dead_code))]
    RedirectUriNotListed,
}

impl SectorRefusal {
    /// The `error_description`.
    pub(crate) const fn description(self) -> &'static str {
        match self {
            Self::NoCommonHost => {
                "`subject_type` `pairwise` with redirect URIs on more than one host (or none) needs a `sector_identifier_uri`"
            }
            Self::RedirectUriNotListed => {
                "the document at `sector_identifier_uri` must list every one of the client's `redirect_uris`"
            }
        }
    }
}

/// The sector of a client without a `sector_identifier_uri`: the host its redirect URIs share.
pub(crate) fn sector_of_redirect_uris(redirect_uris: &[String]) -> Result<String, SectorRefusal> {
    let mut hosts =
        redirect_uris.iter().map(|uri| url::Url::parse(uri).ok().and_then(|url| url.host_str().map(str::to_owned)));
    let first = hosts.next().flatten().ok_or(SectorRefusal::NoCommonHost)?;
    if first.is_empty() || hosts.any(|host| host.as_deref() != Some(first.as_str())) {
        return Err(SectorRefusal::NoCommonHost);
    }
    Ok(first)
}

/// The sector of a client with a `sector_identifier_uri` whose document (a JSON array of URIs)
/// is `listed`: the URI's host, when every redirect URI is listed, byte for byte. Only a server
/// that fetches the document (feature `fetch`) calls it.
#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
pub(crate) fn sector_of_document(
    sector_identifier_uri: &url::Url,
    listed: &[String],
    redirect_uris: &[String],
) -> Result<String, SectorRefusal> {
    if !redirect_uris.iter().all(|uri| listed.contains(uri)) {
        return Err(SectorRefusal::RedirectUriNotListed);
    }
    sector_identifier_uri.host_str().map(str::to_owned).ok_or(SectorRefusal::NoCommonHost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(all: &[&str]) -> Vec<String> {
        all.iter().map(|uri| (*uri).to_owned()).collect()
    }

    #[test]
    fn a_user_has_one_subject_per_sector_and_different_ones_across_sectors() {
        let key = PairwiseKey::new(&[7; 32]);
        let a = key.subject("a.example", "alice");
        assert_eq!(a, key.subject("a.example", "alice"), "stable");
        assert_eq!(a.len(), 43, "256 bits, base64url");
        assert_ne!(a, key.subject("b.example", "alice"), "per sector");
        assert_ne!(a, key.subject("a.example", "bob"), "per user");
        assert_ne!(a, PairwiseKey::new(&[8; 32]).subject("a.example", "alice"), "per secret");
        assert_ne!(key.subject("a.example", "bc"), key.subject("a.examplebc", ""), "the separator");
        assert!(!a.contains("alice"));
    }

    #[test]
    fn without_a_sector_document_the_redirect_uris_share_one_host() {
        assert_eq!(
            sector_of_redirect_uris(&uris(&["https://rp.example/cb", "https://rp.example/other?x=1"])),
            Ok("rp.example".to_owned())
        );
        for refused in
            [uris(&["https://rp.example/cb", "https://other.example/cb"]), uris(&["com.example.app:/cb"]), uris(&[])]
        {
            assert_eq!(sector_of_redirect_uris(&refused), Err(SectorRefusal::NoCommonHost), "{refused:?}");
        }
    }

    #[test]
    fn a_sector_document_lists_every_redirect_uri() {
        let url = url::Url::parse("https://sector.example/uris.json").expect("URL");
        let redirect = uris(&["https://a.example/cb", "https://b.example/cb"]);
        let listed = uris(&["https://a.example/cb", "https://b.example/cb", "https://c.example/cb"]);
        assert_eq!(sector_of_document(&url, &listed, &redirect), Ok("sector.example".to_owned()));
        let partial = uris(&["https://a.example/cb", "https://b.example/cb/"]);
        assert_eq!(sector_of_document(&url, &partial, &redirect), Err(SectorRefusal::RedirectUriNotListed));
    }
}
