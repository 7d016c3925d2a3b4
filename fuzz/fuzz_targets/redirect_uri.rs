//! Redirect URI validation at registration (`register::check_redirect_uri`, also applied to the
//! redirect URIs of client ID metadata documents). The first byte picks the rules (modulo 3: a
//! confidential web client, a public web client, a native app); the rest is the URI.
//!
//! Checked: a refusal is `invalid_redirect_uri`; an accepted URI has no whitespace, control
//! character, fragment or user information, parses as a URL, and survives parse → serialise (the
//! serialised form is accepted too and parses back to itself); the rules only widen from web to
//! public web to native. (The authorization endpoint's loopback matcher is fuzzed through the
//! router, by the `authorize` target.)
#![no_main]

use attesto::ErrorCode;
use attesto_runtime::__fuzz::check_redirect_uri;
use libfuzzer_sys::fuzz_target;

/// The rules, narrowest first, as `check_redirect_uri` numbers them (1 is a public web client).
const WEB: u8 = 0;
const NATIVE: u8 = 2;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(uri) = std::str::from_utf8(rest) else {
        return;
    };
    let kind = flags % 3;
    let result = check_redirect_uri(uri, kind);
    if let Err(error) = &result {
        assert_eq!(error.code(), ErrorCode::InvalidRedirectUri, "{error}");
        return;
    }
    assert!(!uri.chars().any(|c| c.is_whitespace() || c.is_control()), "{uri:?}");
    assert!(!uri.contains('#'), "{uri:?}");
    if kind != NATIVE {
        assert!(uri.starts_with("https://") || uri.starts_with("http://"), "{uri:?}");
    }
    if kind == WEB {
        assert!(uri.starts_with("https://"), "{uri:?}");
    }
    for wider in kind..=NATIVE {
        assert!(check_redirect_uri(uri, wider).is_ok(), "accepted for {kind}, refused for {wider}: {uri:?}");
    }
    let url = url::Url::parse(uri).expect("an accepted redirect URI parses");
    assert!(url.username().is_empty() && url.password().is_none(), "{uri:?}");
    let serialised = url.as_str();
    let again = url::Url::parse(serialised).expect("a serialised URL parses");
    assert_eq!(again.as_str(), serialised, "serialisation is stable: {uri:?}");
    assert!(
        check_redirect_uri(serialised, kind).is_ok(),
        "{uri:?} is accepted, its serialisation {serialised:?} is not"
    );
});
