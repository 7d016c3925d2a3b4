//! `dev_sign_in` is the subject every sign-in gets: not empty.

#[derive(Clone)]
#[attesto::provider(dev_sign_in = "")]
struct Auth;

impl attesto::ClientStore for Auth {}

fn main() {}
