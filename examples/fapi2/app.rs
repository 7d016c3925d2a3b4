//! The provider of the FAPI 2.0 example: open registration of `private_key_jwt` clients (keys
//! given inline as `jwks`; a `jwks_uri` needs the feature `fetch`), every
//! sign-in `alice` (development only, so the issuer must be on loopback), the FAPI 2.0 Security
//! Profile and, if asked, FAPI 2.0 Message Signing.

use attesto::{Attesto, ClientStore, Key, MemoryRegistrations};

/// The host: no clients of its own, they all register (RFC 7591), with keys.
#[derive(Clone, Default)]
#[attesto::provider(registration = "registrations", dev_sign_in = "alice")]
pub(crate) struct Bank {
    registrations: MemoryRegistrations,
}

impl ClientStore for Bank {}

/// The scopes a client may ask for: OpenID Connect, refresh tokens, and the bank's own.
pub(crate) const SCOPES: [&str; 3] = ["openid", "offline_access", "accounts"];

/// The provider at `issuer` (`http://127.0.0.1:PORT`), in the FAPI 2.0 Security Profile, with
/// FAPI 2.0 Message Signing when `message_signing`.
pub(crate) fn provider(issuer: &str, message_signing: bool) -> Result<Attesto<Bank>, Box<dyn std::error::Error>> {
    let mut builder = Attesto::builder(Bank::default())
        .issuer(issuer)?
        .scopes_supported(SCOPES)
        // ES256: one of the three algorithms the profile allows (PS256 and EdDSA are the others).
        .signing_key(Key::generate_for_development()?)
        .fapi2_security_profile();
    if message_signing {
        builder = builder.fapi2_message_signing();
    }
    Ok(builder.build()?)
}
