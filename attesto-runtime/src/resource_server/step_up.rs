//! How strong and how recent the user's sign-in behind a token must be (RFC 9470): the
//! requirement a guard or one operation sets (`acr_values`, `max_age`), its check against the
//! token's `acr` and `auth_time` (RFC 9068 §2.2.1), and the `insufficient_user_authentication`
//! answer that tells the client how to sign the user in again (RFC 9470 §3).

use std::time::Duration;

use http::{HeaderValue, StatusCode};

use crate::error::{ErrorCode, OAuthError};
use crate::resource_server::scheme::Scheme;

/// What a resource requires of the user's sign-in (RFC 9470 §3): one of `acr_values`, when there
/// are any, and a sign-in at most `max_age` old, when set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UserAuthentication {
    /// The authentication context classes accepted, any of them; empty for any class.
    pub(crate) acr_values: Vec<String>,
    /// The oldest sign-in accepted, in whole seconds.
    pub(crate) max_age: Option<u64>,
}

/// Why a token's sign-in falls short of a [`UserAuthentication`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shortfall {
    /// The token's `acr` is none of those required, or it has none.
    Acr,
    /// The token's `auth_time` is older than `max_age`, or it has none (a client's own token).
    Age,
}

impl Shortfall {
    /// The `error_description` of the answer.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::Acr => "a stronger authentication of the user is required (see acr_values)",
            Self::Age => "a more recent authentication of the user is required (see max_age)",
        }
    }
}

impl UserAuthentication {
    /// Adds `values` to the accepted classes, once each.
    pub(crate) fn add_acr_values<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, values: I) {
        for value in values {
            let value = value.into();
            if !self.acr_values.contains(&value) {
                self.acr_values.push(value);
            }
        }
    }

    /// Sets `max_age`, in whole seconds (a sub-second part is dropped, which makes it stricter).
    pub(crate) fn set_max_age(&mut self, max_age: Duration) {
        self.max_age = Some(max_age.as_secs());
    }

    /// The requirement of one operation inside a route that requires `route`: the operation's
    /// classes, or the route's when it names none, and the shorter of the two ages, so that the
    /// client that signs in again as the answer says meets both.
    pub(crate) fn within(&self, route: &Self) -> Self {
        let acr_values = if self.acr_values.is_empty() { route.acr_values.clone() } else { self.acr_values.clone() };
        let max_age = match (self.max_age, route.max_age) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self { acr_values, max_age }
    }

    /// Checks a token's `acr` and `auth_time` (Unix seconds) at `now` (Unix seconds). A sign-in
    /// dated in the future (a clock ahead of this one) counts as just now.
    pub(crate) fn check(&self, acr: Option<&str>, auth_time: Option<u64>, now: u64) -> Result<(), Shortfall> {
        if !self.acr_values.is_empty() && !acr.is_some_and(|acr| self.acr_values.iter().any(|value| value == acr)) {
            return Err(Shortfall::Acr);
        }
        if let Some(max_age) = self.max_age {
            match auth_time {
                Some(auth_time) if now.saturating_sub(auth_time) <= max_age => {}
                _ => return Err(Shortfall::Age),
            }
        }
        Ok(())
    }

    /// The RFC 9470 §3 parameters of the challenge: `acr_values="a b"` and `max_age="N"`, each
    /// when required, comma-separated.
    fn parameters(&self) -> String {
        let mut parameters = Vec::new();
        if !self.acr_values.is_empty() {
            parameters.push(format!("acr_values=\"{}\"", self.acr_values.join(" ")));
        }
        if let Some(max_age) = self.max_age {
            parameters.push(format!("max_age=\"{max_age}\""));
        }
        parameters.join(", ")
    }
}

/// `insufficient_user_authentication`, 401 (RFC 9470 §3), with `description` and the challenge
/// of `scheme` naming what the sign-in must be (`acr_values`, `max_age`) when `required` says.
pub(crate) fn insufficient_user_authentication(
    scheme: Scheme,
    description: &'static str,
    required: &UserAuthentication,
) -> OAuthError {
    const CODE: &str = "insufficient_user_authentication";
    let parameters = required.parameters();
    let parameters = if parameters.is_empty() { parameters } else { format!(", {parameters}") };
    let challenge = match scheme {
        Scheme::Bearer => format!("Bearer error=\"{CODE}\", error_description=\"{description}\"{parameters}"),
        Scheme::Dpop => format!(
            "DPoP error=\"{CODE}\", error_description=\"{description}\"{parameters}, algs=\"{}\"",
            crate::protocol::dpop_proof::SUPPORTED_ALGORITHMS.join(" ")
        ),
    };
    let challenge =
        HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("Bearer error=\"invalid_token\""));
    OAuthError::new(ErrorCode::InsufficientUserAuthentication, description)
        .with_status(StatusCode::UNAUTHORIZED)
        .with_challenge(challenge)
}

/// The refusal of a token whose sign-in falls short of `required`.
pub(crate) fn refusal(scheme: Scheme, shortfall: Shortfall, required: &UserAuthentication) -> OAuthError {
    insufficient_user_authentication(scheme, shortfall.description(), required)
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse as _;

    use super::*;

    fn required(acr: &[&str], max_age: Option<u64>) -> UserAuthentication {
        UserAuthentication { acr_values: acr.iter().map(|v| (*v).to_owned()).collect(), max_age }
    }

    #[test]
    fn the_sign_in_must_have_one_of_the_classes_and_be_recent_enough() {
        let now = 1_000_000;
        let mfa = required(&["urn:a:mfa", "urn:a:hwk"], None);
        assert_eq!(mfa.check(Some("urn:a:hwk"), Some(now), now), Ok(()));
        assert_eq!(mfa.check(Some("urn:a:pwd"), Some(now), now), Err(Shortfall::Acr));
        assert_eq!(mfa.check(None, Some(now), now), Err(Shortfall::Acr));
        // Class names are compared exactly (RFC 9470 §3 sends them back as they are).
        assert_eq!(mfa.check(Some("URN:A:MFA"), Some(now), now), Err(Shortfall::Acr));
        let fresh = required(&[], Some(300));
        assert_eq!(fresh.check(None, Some(now - 300), now), Ok(()));
        assert_eq!(fresh.check(None, Some(now - 301), now), Err(Shortfall::Age));
        assert_eq!(fresh.check(None, None, now), Err(Shortfall::Age), "a client's own token has no sign-in");
        assert_eq!(fresh.check(None, Some(now + 30), now), Ok(()), "a clock ahead counts as now");
        let both = required(&["urn:a:mfa"], Some(60));
        assert_eq!(both.check(Some("urn:a:pwd"), Some(now - 600), now), Err(Shortfall::Acr), "the class first");
        assert_eq!(both.check(Some("urn:a:mfa"), Some(now - 600), now), Err(Shortfall::Age));
        assert_eq!(UserAuthentication::default().check(None, None, now), Ok(()));
    }

    #[test]
    fn an_operation_narrows_its_routes_requirement() {
        let route = required(&["urn:a:mfa"], Some(600));
        assert_eq!(required(&[], Some(60)).within(&route), required(&["urn:a:mfa"], Some(60)));
        assert_eq!(required(&["urn:a:hwk"], None).within(&route), required(&["urn:a:hwk"], Some(600)));
        assert_eq!(required(&[], Some(6000)).within(&route), required(&["urn:a:mfa"], Some(600)));
        assert_eq!(required(&[], None).within(&UserAuthentication::default()), UserAuthentication::default());
    }

    #[test]
    fn the_challenge_names_what_the_sign_in_must_be_in_either_scheme() {
        let response = insufficient_user_authentication(
            Scheme::Bearer,
            Shortfall::Acr.description(),
            &required(&["urn:a:mfa", "urn:a:hwk"], Some(300)),
        )
        .into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[http::header::WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_user_authentication\", error_description=\"a stronger authentication of \
             the user is required (see acr_values)\", acr_values=\"urn:a:mfa urn:a:hwk\", max_age=\"300\""
        );
        let response =
            insufficient_user_authentication(Scheme::Dpop, Shortfall::Age.description(), &required(&[], Some(5)))
                .into_response();
        let challenge = response.headers()[http::header::WWW_AUTHENTICATE].to_str().expect("ASCII");
        assert!(challenge.starts_with("DPoP error=\"insufficient_user_authentication\""), "{challenge}");
        assert!(challenge.contains("(see max_age)\", max_age=\"5\", algs=\""), "{challenge}");
    }
}
