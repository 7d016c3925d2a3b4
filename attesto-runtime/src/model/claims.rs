//! The OpenID Connect `claims` request parameter (OIDC Core §5.5) as attesto keeps it and hands it
//! to the host: which claims a client asks for, in the ID token and at userinfo, and how.
//!
//! Parsing and its bounds live in `protocol/claims_request.rs`; these are the values it makes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One claim's request (OIDC Core §5.5.1): `null` (a voluntary claim, the default) or an object
/// with `essential`, `value` or `values`. Members OIDC Core does not define are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClaimRequest {
    /// `essential` (§5.5.1): the client needs the claim for the best experience of the user. The
    /// host decides whether it can release it; a missing essential claim is no error (§5.5.1).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub essential: bool,
    /// `value` (§5.5.1): the claim is requested with this particular value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// `values` (§5.5.1): the claim is requested with one of these values, in order of
    /// preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

/// The claims requested for one place they are returned in: the ID token or the userinfo
/// response (one member of the `claims` parameter, OIDC Core §5.5), by claim name.
///
/// A host reads it in its claim builders ([`ClaimsQuery::requested`](crate::ClaimsQuery)) and
/// releases what it decides to: a requested claim is a wish of the client's, never an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestedClaims {
    claims: BTreeMap<String, ClaimRequest>,
}

impl RequestedClaims {
    /// Requested claims from `(name, request)` pairs; a name given twice keeps its last request.
    pub fn new<I: IntoIterator<Item = (String, ClaimRequest)>>(claims: I) -> Self {
        Self { claims: claims.into_iter().collect() }
    }

    /// The names of the requested claims, in lexical order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.claims.keys().map(String::as_str)
    }

    /// Each requested claim and how it is requested, in lexical order of the names.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ClaimRequest)> + '_ {
        self.claims.iter().map(|(name, request)| (name.as_str(), request))
    }

    /// How `name` is requested, if it is.
    pub fn get(&self, name: &str) -> Option<&ClaimRequest> {
        self.claims.get(name)
    }

    /// Whether `name` is requested at all.
    pub fn contains(&self, name: &str) -> bool {
        self.claims.contains_key(name)
    }

    /// Whether `name` is requested as an essential claim (§5.5.1 `essential: true`).
    pub fn is_essential(&self, name: &str) -> bool {
        self.claims.get(name).is_some_and(|request| request.essential)
    }

    /// The particular value `name` is requested with (§5.5.1 `value`), if any.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.claims.get(name).and_then(|request| request.value.as_ref())
    }

    /// The values `name` is requested with, one of which is wanted (§5.5.1 `values`), if any.
    pub fn values(&self, name: &str) -> Option<&[Value]> {
        self.claims.get(name).and_then(|request| request.values.as_deref())
    }

    /// How many claims are requested.
    pub fn len(&self) -> usize {
        self.claims.len()
    }

    /// Whether no claim is requested.
    pub fn is_empty(&self) -> bool {
        self.claims.is_empty()
    }
}

/// The `claims` request parameter (OIDC Core §5.5): the claims requested for the userinfo
/// response and for the ID token. Either member may be absent; other members are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClaimsRequest {
    /// `userinfo` (§5.5): the claims requested at the userinfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<RequestedClaims>,
    /// `id_token` (§5.5): the claims requested in the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<RequestedClaims>,
}

impl ClaimsRequest {
    /// A request with these members.
    pub fn new(userinfo: Option<RequestedClaims>, id_token: Option<RequestedClaims>) -> Self {
        Self { userinfo, id_token }
    }

    /// The claims requested for `target`, if its member was sent.
    pub fn for_target(&self, target: ClaimsTarget) -> Option<&RequestedClaims> {
        match target {
            ClaimsTarget::IdToken => self.id_token.as_ref(),
            ClaimsTarget::Userinfo => self.userinfo.as_ref(),
        }
    }
}

/// Where claims are being built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClaimsTarget {
    /// The ID token (OIDC Core §2), at the token endpoint: the code's and every refresh's.
    IdToken,
    /// The userinfo response (OIDC Core §5.3).
    Userinfo,
}

/// The standard claims a scope value asks for (OIDC Core §5.4): `profile`, `email`, `address`
/// and `phone`; none for any other scope. A host that releases "the claims of the scopes and the
/// claims requested" unites these with [`RequestedClaims::names`] (see
/// [`ClaimsQuery::claim_names`](crate::ClaimsQuery::claim_names)).
pub fn standard_claims_of_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "address" => &["address"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_read_api_answers_per_claim() {
        let claims = RequestedClaims::new([
            ("email".to_owned(), ClaimRequest { essential: true, value: None, values: None }),
            ("acr".to_owned(), ClaimRequest { essential: false, value: None, values: Some(vec![json!("a")]) }),
            ("sub".to_owned(), ClaimRequest { essential: false, value: Some(json!("ann")), values: None }),
            ("name".to_owned(), ClaimRequest::default()),
        ]);
        assert_eq!(claims.names().collect::<Vec<_>>(), ["acr", "email", "name", "sub"]);
        assert!(claims.is_essential("email") && !claims.is_essential("name") && !claims.is_essential("nope"));
        assert_eq!(claims.value("sub"), Some(&json!("ann")));
        assert_eq!(claims.values("acr"), Some(&[json!("a")][..]));
        assert_eq!((claims.value("name"), claims.values("name")), (None, None));
        assert!(claims.contains("name") && !claims.contains("nope"));
        assert_eq!((claims.len(), claims.is_empty()), (4, false));
    }

    #[test]
    fn scope_claims_follow_oidc_core_5_4() {
        assert!(standard_claims_of_scope("profile").contains(&"preferred_username"));
        assert_eq!(standard_claims_of_scope("email"), ["email", "email_verified"]);
        assert_eq!(standard_claims_of_scope("address"), ["address"]);
        assert_eq!(standard_claims_of_scope("phone"), ["phone_number", "phone_number_verified"]);
        assert!(standard_claims_of_scope("openid").is_empty());
    }

    #[test]
    fn a_request_round_trips_through_json() {
        let request = ClaimsRequest::new(
            Some(RequestedClaims::new([("name".to_owned(), ClaimRequest::default())])),
            Some(RequestedClaims::new([(
                "acr".to_owned(),
                ClaimRequest { essential: true, value: None, values: Some(vec![json!("x")]) },
            )])),
        );
        let json = serde_json::to_value(&request).expect("serialises");
        assert_eq!(json, json!({"userinfo": {"name": {}}, "id_token": {"acr": {"essential": true, "values": ["x"]}}}));
        assert_eq!(serde_json::from_value::<ClaimsRequest>(json).expect("reads back"), request);
        assert_eq!(serde_json::from_value::<ClaimsRequest>(json!({})).expect("empty"), ClaimsRequest::default());
    }
}
