//! The client metadata of OpenID Connect Back-Channel Logout 1.0 §2.2:
//! `backchannel_logout_uri` and `backchannel_logout_session_required`.
//!
//! The URI is where attesto POSTs logout tokens, a request the server makes to an address a
//! stranger chose at registration, so it is held to the fetcher's rules before it is stored: an
//! absolute `https` URL (§2.2: "MUST be an absolute URI"; a query is allowed, a fragment is not),
//! without credentials, and not at a loopback, private or otherwise non-public address written
//! in the URL. A name that resolves to such an address is refused when the token is sent (the
//! fetcher checks every resolved address). The operator may allow `http` and loopback or private
//! addresses for development (`Builder::allow_loopback_backchannel_logout_for_development`).
//!
//! Read for registration only.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::{MetadataError, Source, string};
use crate::model::address::is_public;

/// How a registration's `backchannel_logout_uri` is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackchannelPolicy {
    /// The server cannot send logout tokens (no end-session endpoint, or built without the
    /// feature `fetch`): the member is refused rather than accepted and never honoured.
    Unsupported,
    /// `https` and public addresses only: production.
    #[cfg_attr(not(feature = "fetch"), allow(dead_code))]
    Public,
    /// `http` and loopback or private addresses too: development only.
    AllowedForDevelopment,
}

/// The back-channel logout members of a registration, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct BackchannelLogout {
    /// `backchannel_logout_uri`.
    pub(crate) uri: Option<String>,
    /// `backchannel_logout_session_required`; `false` when absent (§2.2).
    pub(crate) session_required: bool,
}

impl BackchannelLogout {
    /// Reads the members of a registration under `policy`. `null` counts as absent (RFC 7592
    /// §2.2).
    pub(crate) fn parse(raw: &Map<String, Value>, policy: BackchannelPolicy) -> Result<Self, MetadataError> {
        let uri = match string(raw, "backchannel_logout_uri", &Source::Registration)? {
            None => None,
            Some(uri) => {
                check_uri(uri, policy).map_err(MetadataError::BackchannelLogoutUri)?;
                Some(uri.to_owned())
            }
        };
        let session_required = match raw.get("backchannel_logout_session_required") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(required)) => *required,
            Some(_) => return Err(MetadataError::BackchannelLogoutSessionRequiredNotBoolean),
        };
        Ok(Self { uri, session_required })
    }

    /// The members as accepted, for the stored metadata and the registration response.
    pub(crate) fn members(&self) -> Map<String, Value> {
        let mut members = Map::new();
        if let Some(uri) = &self.uri {
            members.insert("backchannel_logout_uri".to_owned(), uri.clone().into());
            members.insert("backchannel_logout_session_required".to_owned(), self.session_required.into());
        }
        members
    }
}

/// Why `uri` is not a back-channel logout URI this server will POST to, if it is not.
fn check_uri(uri: &str, policy: BackchannelPolicy) -> Result<(), &'static str> {
    if policy == BackchannelPolicy::Unsupported {
        return Err("is not supported: this server does not send back-channel logout tokens");
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be an absolute URL without whitespace");
    }
    let url = url::Url::parse(uri).map_err(|_| "must be an absolute URL")?;
    let development = policy == BackchannelPolicy::AllowedForDevelopment;
    match url.scheme() {
        "https" => {}
        "http" if development => {}
        "http" => return Err("must be an https URL"),
        _ => return Err("must be an https URL"),
    }
    // §2.2: "MAY contain port, path, and query parameter components" — not a fragment.
    if url.fragment().is_some() {
        return Err("must not contain a fragment (OpenID Connect Back-Channel Logout 1.0 section 2.2)");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials");
    }
    let public = match url.host() {
        None => return Err("must be an absolute URL"),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
    };
    if !public && !development {
        return Err("must not point at a loopback or private address");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value, policy: BackchannelPolicy) -> Result<BackchannelLogout, String> {
        let Value::Object(raw) = value else { panic!("an object") };
        BackchannelLogout::parse(&raw, policy).map_err(|error| error.to_string())
    }

    fn uri(uri: &str, policy: BackchannelPolicy) -> Result<BackchannelLogout, String> {
        parse(json!({ "backchannel_logout_uri": uri }), policy)
    }

    #[test]
    fn an_https_uri_with_a_query_is_accepted() {
        let accepted = uri("https://rp.example/logout?tenant=1", BackchannelPolicy::Public).expect("accepted");
        assert_eq!(accepted.uri.as_deref(), Some("https://rp.example/logout?tenant=1"));
        assert!(!accepted.session_required);
        let required = parse(
            json!({"backchannel_logout_uri": "https://rp.example/l", "backchannel_logout_session_required": true}),
            BackchannelPolicy::Public,
        )
        .expect("accepted");
        assert!(required.session_required);
        assert_eq!(parse(json!({"backchannel_logout_uri": null}), BackchannelPolicy::Public), Ok(Default::default()));
    }

    #[test]
    fn bad_uris_are_refused_with_their_reason() {
        let public = BackchannelPolicy::Public;
        let cases = [
            ("not a url", "`backchannel_logout_uri` must be an absolute URL without whitespace"),
            ("/relative", "`backchannel_logout_uri` must be an absolute URL"),
            (
                "https://rp.example/l#frag",
                "`backchannel_logout_uri` must not contain a fragment (OpenID Connect Back-Channel Logout 1.0 section 2.2)",
            ),
            ("http://rp.example/l", "`backchannel_logout_uri` must be an https URL"),
            ("ftp://rp.example/l", "`backchannel_logout_uri` must be an https URL"),
            ("https://u:p@rp.example/l", "`backchannel_logout_uri` must not contain credentials"),
            ("https://127.0.0.1/l", "`backchannel_logout_uri` must not point at a loopback or private address"),
            ("https://localhost/l", "`backchannel_logout_uri` must not point at a loopback or private address"),
            ("https://10.0.0.1/l", "`backchannel_logout_uri` must not point at a loopback or private address"),
            ("https://[::1]/l", "`backchannel_logout_uri` must not point at a loopback or private address"),
            ("https://169.254.169.254/l", "`backchannel_logout_uri` must not point at a loopback or private address"),
        ];
        for (value, description) in cases {
            assert_eq!(uri(value, public), Err(description.to_owned()), "{value}");
        }
        assert_eq!(
            uri("https://rp.example/l", BackchannelPolicy::Unsupported),
            Err("`backchannel_logout_uri` is not supported: this server does not send back-channel logout tokens"
                .to_owned())
        );
        assert_eq!(
            parse(json!({"backchannel_logout_session_required": "yes"}), public),
            Err(
                "`backchannel_logout_session_required` must be a boolean (OpenID Connect Back-Channel Logout 1.0 section 2.2)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_development_switch_allows_http_and_loopback() {
        let development = BackchannelPolicy::AllowedForDevelopment;
        for value in ["http://127.0.0.1:8080/logout", "http://localhost/l", "https://10.0.0.1/l"] {
            assert!(uri(value, development).is_ok(), "{value}");
        }
        assert_eq!(
            uri("http://127.0.0.1/l#f", development),
            Err("`backchannel_logout_uri` must not contain a fragment (OpenID Connect Back-Channel Logout 1.0 section 2.2)"
                .to_owned())
        );
    }
}
