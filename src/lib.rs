//! placeholder, replaced below
pub use attesto_macros::{attesto_routes, provider};
pub use attesto_runtime::*;

#[doc(hidden)]
pub mod __private {
    pub use attesto_runtime::__private::*;
}
