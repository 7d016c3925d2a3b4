//! Procedural macros of attesto. An implementation detail: use the `attesto` crate, which
//! re-exports them and documents them.
//!
//! Both macros run one pipeline: `args` reads the options as written, `model` interprets them
//! (and checks each path literal), `check` applies the rules between options, `expand` generates
//! the code. Every problem is reported at once, each on the token to change.

use proc_macro::TokenStream;

mod args;
mod check;
mod expand;
mod model;

/// See `attesto::provider`.
#[proc_macro_attribute]
pub fn provider(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let generated = args::Input::from_attribute(args.into(), item.clone())
        .map(generate)
        .unwrap_or_else(syn::Error::into_compile_error);
    // The item is emitted unchanged whatever happened, so a mistake in the options does not
    // also make the type disappear.
    quote::quote!(#item #generated).into()
}

/// See `attesto::attesto_routes`.
#[proc_macro]
pub fn attesto_routes(input: TokenStream) -> TokenStream {
    args::Input::from_routes(input.into()).map(generate).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// The pipeline shared by both macros: read, interpret, check, expand; on errors, the errors and
/// the code of the default declaration (see `expand::with_errors`).
fn generate(input: args::Input) -> proc_macro2::TokenStream {
    let mut errors = darling::Error::accumulator();
    let items = errors.handle(input.options.map_err(darling::Error::from)).unwrap_or_default();
    let options = args::Options::read(&items, &mut errors);
    let declaration = model::Declaration::new(input.ty, &options, &mut errors);
    check::declaration(&declaration, &mut errors);
    match errors.finish() {
        Ok(()) => expand::declaration(&declaration),
        Err(errors) => expand::with_errors(&declaration.fallback(), errors.into()),
    }
}
