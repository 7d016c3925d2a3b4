//! Procedural macros of attesto. An implementation detail: use the `attesto` crate.
use proc_macro::TokenStream;

/// See `attesto::provider`.
#[proc_macro_attribute]
pub fn provider(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// See `attesto::attesto_routes`.
#[proc_macro]
pub fn attesto_routes(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
