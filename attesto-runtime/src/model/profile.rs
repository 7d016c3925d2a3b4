//! The security profile a provider runs in: OAuth 2.1 as attesto serves it by default, or the
//! FAPI 2.0 Security Profile (final, February 2025), alone or with FAPI 2.0 Message Signing.
//!
//! A profile is a value the builder sets and every endpoint reads: which client authentication,
//! which signature algorithms, whether PAR, DPoP, redirect URIs and signed messages are required.
//! `SECURITY.md` lists each shall-clause of the profiles and where it is enforced.

use crate::model::client::{ClientSigningAlgorithm, TokenEndpointAuthMethod};

/// The signature algorithms of FAPI 2.0 Security Profile §5.4.1 clause 2 (PS256, ES256 and
/// Ed25519, which JOSE names `EdDSA`, RFC 8037), for every signature attesto makes or accepts
/// under the profile: its own tokens and responses, client assertions, request objects, DPoP
/// proofs. RS256 is not among them (§5.4.1 clause 3: no RSASSA-PKCS1-v1_5).
pub(crate) const FAPI2_ALGORITHMS: [ClientSigningAlgorithm; 3] =
    [ClientSigningAlgorithm::ES256, ClientSigningAlgorithm::PS256, ClientSigningAlgorithm::EdDSA];

/// The profile of a provider; see [`Builder::fapi2_security_profile`](crate::Builder::fapi2_security_profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Profile {
    /// OAuth 2.1 with the options the builder set.
    #[default]
    OAuth21,
    /// The FAPI 2.0 Security Profile.
    Fapi2Security,
    /// The FAPI 2.0 Security Profile with FAPI 2.0 Message Signing: signed requests (JAR),
    /// signed authorization responses (JARM) and signed introspection responses (RFC 9701).
    Fapi2MessageSigning,
}

impl Profile {
    /// Whether the FAPI 2.0 Security Profile applies (Message Signing includes it).
    pub(crate) const fn is_fapi2(self) -> bool {
        matches!(self, Self::Fapi2Security | Self::Fapi2MessageSigning)
    }

    /// Whether FAPI 2.0 Message Signing applies.
    pub(crate) const fn is_message_signing(self) -> bool {
        matches!(self, Self::Fapi2MessageSigning)
    }

    /// Whether a client may sign with `alg` (client assertions, request objects, DPoP proofs).
    pub(crate) fn allows_algorithm(self, alg: ClientSigningAlgorithm) -> bool {
        !self.is_fapi2() || FAPI2_ALGORITHMS.contains(&alg)
    }

    /// Whether a JOSE `alg` may sign a DPoP proof; `alg` is one attesto verifies at all.
    pub(crate) fn allows_proof_algorithm(self, alg: &str) -> bool {
        !self.is_fapi2() || FAPI2_ALGORITHMS.iter().any(|allowed| allowed.as_str() == alg)
    }

    /// The algorithms clients may sign with, in the order discovery lists them.
    pub(crate) fn client_algorithms(self) -> Vec<ClientSigningAlgorithm> {
        ClientSigningAlgorithm::ALL.into_iter().filter(|alg| self.allows_algorithm(*alg)).collect()
    }

    /// Whether a client may authenticate with `method`: under FAPI 2.0 only with `private_key_jwt`
    /// (Security Profile §5.3.2.1 clauses 3 and 6, §5.3.3: confidential clients only, and no
    /// shared secret; mutual TLS, the other method it allows, is not served).
    pub(crate) fn allows_auth_method(self, method: TokenEndpointAuthMethod) -> bool {
        !self.is_fapi2() || method == TokenEndpointAuthMethod::PrivateKeyJwt
    }

    /// What a refusal under the profile tells the client about authentication.
    pub(crate) const AUTH_METHOD_REFUSED: &'static str =
        "this server follows the FAPI 2.0 Security Profile: clients authenticate with private_key_jwt only";

    /// What a refusal under the profile tells the client about an algorithm.
    pub(crate) const ALGORITHM_REFUSED: &'static str =
        "this server follows the FAPI 2.0 Security Profile: signatures must use ES256, PS256 or EdDSA";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fapi2_profiles_narrow_methods_and_algorithms() {
        use ClientSigningAlgorithm::*;
        for profile in [Profile::Fapi2Security, Profile::Fapi2MessageSigning] {
            assert!(profile.is_fapi2());
            assert_eq!(profile.client_algorithms(), vec![ES256, EdDSA, PS256]);
            assert!(!profile.allows_algorithm(RS256));
            assert!(!profile.allows_algorithm(ES384));
            assert!(!profile.allows_proof_algorithm("RS256"));
            assert!(profile.allows_proof_algorithm("EdDSA"));
            assert!(profile.allows_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt));
            for method in [
                TokenEndpointAuthMethod::None,
                TokenEndpointAuthMethod::ClientSecretBasic,
                TokenEndpointAuthMethod::ClientSecretPost,
            ] {
                assert!(!profile.allows_auth_method(method), "{method:?}");
            }
        }
        assert!(Profile::Fapi2MessageSigning.is_message_signing());
        assert!(!Profile::Fapi2Security.is_message_signing());
        let default = Profile::default();
        assert!(!default.is_fapi2());
        assert_eq!(default.client_algorithms(), ClientSigningAlgorithm::ALL.to_vec());
        assert!(default.allows_auth_method(TokenEndpointAuthMethod::None));
    }
}
