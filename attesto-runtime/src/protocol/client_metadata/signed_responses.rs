//! The client metadata of signed responses: `authorization_signed_response_alg` (JARM §3),
//! `introspection_signed_response_alg` (RFC 9701 §6) and `userinfo_signed_response_alg` (OpenID
//! Connect Registration §2), and their encryption members, which are refused.
//!
//! A registration may name the algorithm the provider signs with, and no other: an algorithm the
//! provider has no key for would make every signed response to the client fail. Both members
//! default to that algorithm, which the response is then signed with. (JARM and RFC 9701 write
//! RS256 as the default; a provider whose key is not RSA cannot honour it, so attesto's default
//! is its key's algorithm, which discovery advertises.)
//!
//! Read for registration only: a client ID metadata document's client gets the default, whatever
//! its document says.

use serde_json::{Map, Value};

use super::{MetadataError, Source, string};
use crate::keys::Algorithm;

/// The signing algorithm members, in the order they are checked.
const SIGNING_MEMBERS: [&str; 3] =
    ["authorization_signed_response_alg", "introspection_signed_response_alg", "userinfo_signed_response_alg"];

/// Encryption members of JARM §3 and RFC 9701 §6: attesto signs responses and does not encrypt
/// them, so a client that asks for encryption is refused rather than sent what it cannot expect.
const ENCRYPTION_MEMBERS: [&str; 6] = [
    "authorization_encrypted_response_alg",
    "authorization_encrypted_response_enc",
    "introspection_encrypted_response_alg",
    "introspection_encrypted_response_enc",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
];

/// The signing algorithms a registration asked for; `None` where it named none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SignedResponses {
    /// `authorization_signed_response_alg` (JARM §3).
    pub(crate) authorization: Option<Algorithm>,
    /// `introspection_signed_response_alg` (RFC 9701 §6).
    pub(crate) introspection: Option<Algorithm>,
    /// `userinfo_signed_response_alg` (OpenID Connect Registration §2): unlike the two above,
    /// its absence means an unsigned (JSON) userinfo response.
    pub(crate) userinfo: Option<Algorithm>,
}

impl SignedResponses {
    /// Reads the members of a registration; `signing` is the algorithm of the provider's signing
    /// key. `null` counts as absent (RFC 7592 §2.2).
    pub(crate) fn parse(raw: &Map<String, Value>, signing: Algorithm) -> Result<Self, MetadataError> {
        for member in ENCRYPTION_MEMBERS {
            if raw.get(member).is_some_and(|value| !value.is_null()) {
                return Err(MetadataError::EncryptionNotSupported(member));
            }
        }
        let mut algorithms = [None; 3];
        for (member, slot) in SIGNING_MEMBERS.into_iter().zip(&mut algorithms) {
            *slot = match string(raw, member, &Source::Registration)? {
                None => None,
                // JARM §3, RFC 9701 §6: `none` is not allowed; nor is any algorithm without a key.
                Some(alg) => match Algorithm::parse(alg) {
                    Some(alg) if alg == signing => Some(alg),
                    _ => return Err(MetadataError::UnsupportedResponseSigningAlg(member, signing.as_str())),
                },
            };
        }
        let [authorization, introspection, userinfo] = algorithms;
        Ok(Self { authorization, introspection, userinfo })
    }

    /// The members as accepted, for the stored metadata and the registration response.
    pub(crate) fn members(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        SIGNING_MEMBERS
            .into_iter()
            .zip([self.authorization, self.introspection, self.userinfo])
            .filter_map(|(member, alg)| alg.map(|alg| (member, alg.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value, signing: Algorithm) -> Result<SignedResponses, String> {
        let Value::Object(raw) = value else { panic!("an object") };
        SignedResponses::parse(&raw, signing).map_err(|error| error.to_string())
    }

    #[test]
    fn the_signing_algorithm_of_the_provider_is_accepted() {
        assert_eq!(parse(json!({}), Algorithm::ES256), Ok(SignedResponses::default()));
        assert_eq!(
            parse(
                json!({"authorization_signed_response_alg": null, "introspection_signed_response_alg": null}),
                Algorithm::ES256
            ),
            Ok(SignedResponses::default())
        );
        let both = parse(
            json!({"authorization_signed_response_alg": "PS256", "introspection_signed_response_alg": "PS256"}),
            Algorithm::PS256,
        )
        .expect("accepted");
        assert_eq!(
            both,
            SignedResponses {
                authorization: Some(Algorithm::PS256),
                introspection: Some(Algorithm::PS256),
                userinfo: None
            }
        );
        assert_eq!(
            both.members().collect::<Vec<_>>(),
            [("authorization_signed_response_alg", "PS256"), ("introspection_signed_response_alg", "PS256")]
        );
        let one = parse(json!({"introspection_signed_response_alg": "EdDSA"}), Algorithm::EdDSA).expect("accepted");
        assert_eq!(one.members().collect::<Vec<_>>(), [("introspection_signed_response_alg", "EdDSA")]);
        let userinfo = parse(json!({"userinfo_signed_response_alg": "ES256"}), Algorithm::ES256).expect("accepted");
        assert_eq!(userinfo.userinfo, Some(Algorithm::ES256));
        assert_eq!(userinfo.members().collect::<Vec<_>>(), [("userinfo_signed_response_alg", "ES256")]);
        assert_eq!(
            parse(json!({"userinfo_signed_response_alg": "RS256"}), Algorithm::ES256),
            Err("`userinfo_signed_response_alg` must be ES256, the algorithm this server signs with".to_owned())
        );
        assert_eq!(
            parse(json!({"userinfo_encrypted_response_alg": "RSA-OAEP"}), Algorithm::ES256).map(|_| ()),
            parse(json!({"authorization_encrypted_response_alg": "RSA-OAEP"}), Algorithm::ES256)
                .map(|_| ())
                .map_err(|e| e.replace("authorization", "userinfo"))
        );
    }

    #[test]
    fn other_algorithms_and_encryption_are_refused() {
        let cases: &[(Value, &str)] = &[
            (
                json!({"authorization_signed_response_alg": "RS256"}),
                "`authorization_signed_response_alg` must be ES256, the algorithm this server signs with",
            ),
            (
                json!({"authorization_signed_response_alg": "none"}),
                "`authorization_signed_response_alg` must be ES256, the algorithm this server signs with",
            ),
            (
                json!({"introspection_signed_response_alg": "HS256"}),
                "`introspection_signed_response_alg` must be ES256, the algorithm this server signs with",
            ),
            (
                json!({"introspection_signed_response_alg": "es256"}),
                "`introspection_signed_response_alg` must be ES256, the algorithm this server signs with",
            ),
            (json!({"authorization_signed_response_alg": 256}), "`authorization_signed_response_alg` must be a string"),
            (
                json!({"authorization_encrypted_response_alg": "RSA-OAEP-256"}),
                "`authorization_encrypted_response_alg` is not supported: this server signs responses and does not encrypt them",
            ),
            (
                json!({"authorization_encrypted_response_enc": "A128GCM"}),
                "`authorization_encrypted_response_enc` is not supported: this server signs responses and does not encrypt them",
            ),
            (
                json!({"introspection_encrypted_response_alg": "ECDH-ES"}),
                "`introspection_encrypted_response_alg` is not supported: this server signs responses and does not encrypt them",
            ),
            (
                json!({"introspection_signed_response_alg": "ES256", "introspection_encrypted_response_enc": "A256GCM"}),
                "`introspection_encrypted_response_enc` is not supported: this server signs responses and does not encrypt them",
            ),
        ];
        for (metadata, expected) in cases {
            assert_eq!(parse(metadata.clone(), Algorithm::ES256), Err((*expected).to_owned()), "{metadata}");
        }
    }
}
