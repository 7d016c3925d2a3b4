//! The examples index, `examples/README.md`, cannot go stale: every example is listed there with
//! a `cargo run --example` command, every such command (there, in `README.md` and in the guides)
//! names an example that exists, and enables the features that example requires
//! (`required-features` in `Cargo.toml`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The examples Cargo builds (its target auto-discovery): `examples/NAME.rs`, and
/// `examples/NAME/main.rs`. Other files under `examples/NAME/` are modules of `NAME.rs`.
fn examples() -> BTreeSet<String> {
    let dir = Path::new(ROOT).join("examples");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("examples/ is readable") {
        let path = entry.expect("a directory entry").path();
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name").to_owned();
        if path.extension().is_some_and(|e| e == "rs") || path.join("main.rs").is_file() {
            names.insert(stem);
        }
    }
    names
}

/// A `cargo run --example NAME …` command found in a document.
#[derive(Debug)]
struct Command {
    /// The document, for messages.
    file: String,
    /// The example it runs.
    example: String,
    /// The features it enables (`--features a,b` before the `--` that starts the example's own
    /// arguments).
    features: BTreeSet<String>,
    /// The command as written, for messages.
    text: String,
}

/// Every `cargo run --example` command of `text`: each runs to the end of its line or of the
/// inline code span it is in.
fn commands(file: &str, text: &str) -> Vec<Command> {
    let mut found = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(start) = rest.find("cargo run --example ") {
            let tail = &rest[start..];
            let end = tail.find('`').unwrap_or(tail.len());
            let command = &tail[..end];
            let words: Vec<&str> = command.split_whitespace().collect();
            let own_args = words.iter().position(|w| *w == "--").unwrap_or(words.len());
            let cargo_args = &words[..own_args];
            let example = cargo_args.get(3).map_or("", |w| w).to_owned();
            let features = cargo_args
                .windows(2)
                .filter(|pair| pair[0] == "--features")
                .flat_map(|pair| pair[1].split(','))
                .map(str::to_owned)
                .collect();
            found.push(Command { file: file.to_owned(), example, features, text: command.trim_end().to_owned() });
            rest = &tail[end..];
        }
    }
    found
}

/// `required-features` of each `[[example]]` in `Cargo.toml`, by example name. Every entry there
/// is on one line, `name = "…"` and `required-features = ["…", …]`; anything else in such a
/// section is refused, so that a change of layout fails here rather than being misread.
fn required_features(manifest: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut required = BTreeMap::new();
    let mut section: Option<(Option<String>, BTreeSet<String>)> = None;
    let mut close = |section: &mut Option<(Option<String>, BTreeSet<String>)>| {
        if let Some((name, features)) = section.take() {
            let name = name.expect("every [[example]] in Cargo.toml has a `name`");
            required.insert(name, features);
        }
    };
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            close(&mut section);
            if line == "[[example]]" {
                section = Some((None, BTreeSet::new()));
            }
            continue;
        }
        let Some((name, features)) = section.as_mut() else { continue };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("unexpected line in [[example]]: {line}"));
        match key.trim() {
            "name" => *name = Some(value.trim().trim_matches('"').to_owned()),
            "required-features" => {
                let list = value.trim().strip_prefix('[').and_then(|v| v.strip_suffix(']'));
                let list = list.unwrap_or_else(|| panic!("`required-features` on one line, as a list: {line}"));
                features.extend(
                    list.split(',').map(|f| f.trim().trim_matches('"')).filter(|f| !f.is_empty()).map(str::to_owned),
                );
            }
            other => panic!("unexpected key `{other}` in [[example]]: teach this test about it"),
        }
    }
    close(&mut section);
    required
}

/// The documents whose commands must name real examples: the index, the README and the guides.
fn documents() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let mut files = vec![root.join("examples/README.md"), root.join("README.md")];
    let guides = std::fs::read_dir(root.join("guides")).expect("guides/ is readable");
    let mut guides: Vec<PathBuf> = guides
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.sort();
    files.extend(guides);
    files
}

fn all_commands() -> Vec<Command> {
    let root = Path::new(ROOT);
    documents()
        .iter()
        .flat_map(|path| {
            let file = path.strip_prefix(root).unwrap_or(path).display().to_string();
            commands(&file, &read(path))
        })
        .collect()
}

#[test]
fn every_example_is_listed_in_the_index_with_a_command() {
    let index = commands("examples/README.md", &read(&Path::new(ROOT).join("examples/README.md")));
    let listed: BTreeSet<&str> = index.iter().map(|c| c.example.as_str()).collect();
    let missing: Vec<String> = examples().into_iter().filter(|e| !listed.contains(e.as_str())).collect();
    assert!(
        missing.is_empty(),
        "examples/README.md has no `cargo run --example` command for: {missing:?}; add a row for each"
    );
}

#[test]
fn every_command_names_an_existing_example() {
    let examples = examples();
    let commands = all_commands();
    assert!(commands.len() >= examples.len(), "found only {} commands: {commands:?}", commands.len());
    let unknown: Vec<String> = commands
        .iter()
        .filter(|c| !examples.contains(&c.example))
        .map(|c| format!("{}: `{}` runs `{}`, which is not in examples/", c.file, c.text, c.example))
        .collect();
    assert!(unknown.is_empty(), "commands for examples that do not exist:\n{}", unknown.join("\n"));
}

#[test]
fn every_command_enables_the_features_its_example_requires() {
    let required = required_features(&read(&Path::new(ROOT).join("Cargo.toml")));
    // The manifest's examples that need a feature; the parser must have found them.
    assert_eq!(
        required.get("postgres").map(|f| f.iter().map(String::as_str).collect::<Vec<_>>()),
        Some(vec!["postgres"])
    );
    let lacking: Vec<String> = all_commands()
        .iter()
        .filter_map(|c| {
            let needs = required.get(&c.example)?;
            let missing: Vec<&String> = needs.difference(&c.features).collect();
            (!missing.is_empty()).then(|| format!("{}: `{}` lacks --features {missing:?}", c.file, c.text))
        })
        .collect();
    assert!(lacking.is_empty(), "commands that would not build their example:\n{}", lacking.join("\n"));
}

/// The extraction itself, on a sample, so that a parsing mistake cannot make the checks above
/// pass by finding nothing.
#[test]
fn commands_and_required_features_are_read_as_written() {
    let text = "| `cargo run --example a --features x,y -- --port 1` | b |\n\
                ```sh\nFOO=1 cargo run --example b\n```\nrun `cargo run --example c -- --features z` twice";
    let found = commands("sample", text);
    let summary: Vec<(&str, Vec<&str>)> =
        found.iter().map(|c| (c.example.as_str(), c.features.iter().map(String::as_str).collect())).collect();
    assert_eq!(summary, [("a", vec!["x", "y"]), ("b", vec![]), ("c", vec![])]);
    assert_eq!(found[0].text, "cargo run --example a --features x,y -- --port 1");

    let manifest = "[package]\nname = \"p\"\n\n[[example]]\nname = \"one\"\nrequired-features = [\"x\", \"y\"]\n\n\
                    [[example]]\nname = \"two\"\n\n[[bench]]\nname = \"three\"\nrequired-features = [\"z\"]\n";
    let required = required_features(manifest);
    let expected: BTreeMap<String, BTreeSet<String>> =
        [("one".to_owned(), ["x".to_owned(), "y".to_owned()].into()), ("two".to_owned(), BTreeSet::new())].into();
    assert_eq!(required, expected);
}
