//! `registration = "field"` hands the field's `RegistrationStore` to the runtime, and
//! `dev_sign_in` implements `PrincipalStore` and `ConsentPolicy`: with `impl ClientStore {}`, the
//! host writes no trait method at all.

use attesto::MemoryRegistrations;

#[derive(Clone, Default)]
#[attesto::provider(registration = "registrations", dev_sign_in = "demo-user")]
struct Auth {
    registrations: MemoryRegistrations,
}

impl attesto::ClientStore for Auth {}

/// A tuple struct names its field by index.
#[derive(Clone, Default)]
#[attesto::provider(registration = "0")]
struct Tuple(MemoryRegistrations);

impl attesto::ClientStore for Tuple {}

impl attesto::PrincipalStore for Tuple {
    async fn authenticate(
        &self,
        _request: &attesto::LoginRequest<'_>,
    ) -> Result<attesto::LoginOutcome, attesto::HostError> {
        Ok(attesto::LoginOutcome::LoginRequired)
    }
}

fn main() {
    assert!(Auth::FEATURES.registration);
    assert_eq!(Auth::FEATURES.dev_sign_in, Some("demo-user"));
    assert_eq!(Auth::PATHS.registration, Some("/oauth/register"));
    assert!(attesto::Provider::registration_store(&Auth::default()).is_some());
    assert!(attesto::Provider::registration_store(&Tuple::default()).is_some());
    assert_eq!(Tuple::FEATURES.dev_sign_in, None);
}
