//! The examples' command lines: flags written `--name value` or `--name=value`. Included with
//! `#[path]` by `examples/quickstart.rs`, `examples/mcp_server.rs` and
//! `examples/resource_server.rs`, whose `parse_args` say what each flag means.

/// The program's flags, read one at a time: [`Flags::next_flag`] gives a flag's name,
/// [`Flags::value`] its value.
pub(crate) struct Flags {
    args: std::iter::Skip<std::env::Args>,
    /// The name of the flag last read.
    name: String,
    /// Its value when written `--name=value`.
    inline: Option<String>,
}

impl Flags {
    /// The flags of this program's command line (its arguments after the program name).
    pub(crate) fn from_env() -> Self {
        Self { args: std::env::args().skip(1), name: String::new(), inline: None }
    }

    /// The name of the next flag (`--port` of both `--port 8080` and `--port=8080`), or `None`
    /// when there is none left.
    pub(crate) fn next_flag(&mut self) -> Option<String> {
        let arg = self.args.next()?;
        (self.name, self.inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        Some(self.name.clone())
    }

    /// The value of the flag last read: what follows its `=`, or else the next argument.
    pub(crate) fn value(&mut self) -> Result<String, String> {
        self.inline.take().or_else(|| self.args.next()).ok_or(format!("{} needs a value", self.name))
    }
}
