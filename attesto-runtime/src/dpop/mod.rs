//! DPoP proof verification (RFC 9449 §4.3): the pure core.
//!
//! [`verify_proof`] takes the text of one `DPoP` header and what the request it came with looks
//! like ([`ProofRequirements`]), and either returns what the caller needs to bind and remember the
//! proof ([`VerifiedProof`]: the key thumbprint, `jti`, `iat`, `nonce`) or says exactly why it is
//! refused ([`ProofError`], rendered as `invalid_dpop_proof`, RFC 9449 §7.1).
//!
//! It keeps no state and knows no secret: `jti` replay (RFC 9449 §11.1) and server nonces
//! (RFC 9449 §8, §9) are the caller's, using [`VerifiedProof::jti`], [`VerifiedProof::valid_until`]
//! and [`VerifiedProof::nonce`].
//!
//! ```
//! use attesto_runtime::dpop::{ProofError, ProofRequirements, verify_proof};
//!
//! let req = ProofRequirements::new("POST", "https://auth.example.com/oauth/token", 1_700_000_000);
//! assert_eq!(verify_proof("not-a-jws", &req), Err(ProofError::NotThreeParts));
//! assert_eq!(ProofError::NotThreeParts.description(), "the DPoP proof is not a compact JWS of three parts");
//! ```
//!
//! Inside attesto the same module holds what is not pure: the server nonces (RFC 9449 §8, §9) and
//! the replay check of proofs at the provider's endpoints and the resource server's guard.

pub use crate::protocol::dpop_proof::{
    DEFAULT_MAX_AGE, DEFAULT_MAX_SKEW, MAX_JTI_LEN, MAX_NONCE_LEN, MAX_PROOF_LEN, ProofError, ProofRequirements,
    SUPPORTED_ALGORITHMS, VerifiedProof, access_token_hash, thumbprint, verify_proof,
};

pub(crate) mod check;
pub(crate) mod nonce;
