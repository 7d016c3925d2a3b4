//! `TokenExchangePolicy` and `IdentityAssertionPolicy` need no flag: the host's impl switches its
//! grant on, and a host without one has none.

use attesto::{
    Client, ClientStore, ExchangeDecision, ExchangeRequest, HostError, IdentityAssertion, IdentityAssertionPolicy,
    LoginOutcome, LoginRequest, PrincipalStore, Provider, TokenExchangePolicy,
};

#[derive(Clone)]
#[attesto::provider]
struct WithPolicies;

#[derive(Clone)]
#[attesto::provider]
struct Without;

macro_rules! host {
    ($ty:ty) => {
        impl ClientStore for $ty {
            async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
                Ok(None)
            }
        }

        impl PrincipalStore for $ty {
            async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
                Ok(LoginOutcome::LoginRequired)
            }
        }
    };
}
host!(WithPolicies);
host!(Without);

impl TokenExchangePolicy for WithPolicies {
    async fn exchange(&self, request: &ExchangeRequest<'_>) -> Result<ExchangeDecision, HostError> {
        Ok(ExchangeDecision::Grant(request.scopes.clone()))
    }
}

impl IdentityAssertionPolicy for WithPolicies {
    async fn map_subject(&self, assertion: &IdentityAssertion<'_>) -> Result<Option<String>, HostError> {
        Ok(Some(assertion.subject.to_owned()))
    }
}

fn main() {
    assert!(WithPolicies.token_exchange_policy().is_some());
    assert!(WithPolicies.identity_assertion_policy().is_some());
    assert!(Without.token_exchange_policy().is_none());
    assert!(Without.identity_assertion_policy().is_none());
}
