//! The key commands of `guides/production.md` make keys that `Key::from_pem` accepts, and what the
//! guide says about key forms holds.
//!
//! The guide's `openssl genpkey` and `openssl pkey` commands are the ones
//! `attesto-runtime/tests/fixtures/keys/gen.sh` ran to make the PEM fixtures (the file names
//! aside): the first test checks that each command of the guide is one of gen.sh's and loads the
//! fixture it made, so it needs no openssl. The second runs the guide's commands as written, where
//! openssl is installed; under `CI=true` a missing openssl fails it rather than skipping it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use attesto::{Algorithm, Key, KeyError};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const FIXTURES: &str = "attesto-runtime/tests/fixtures/keys";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn guide() -> String {
    read(&Path::new(ROOT).join("guides/production.md"))
}

fn fixture(name: &str) -> String {
    read(&Path::new(ROOT).join(FIXTURES).join(name))
}

/// The key commands (`openssl genpkey`, `openssl pkey`) of a text, each once: every command
/// runs to the end of its line or of the inline code span it is in. A command abbreviated with
/// `…` is a reference to one written in full elsewhere and is left out.
fn key_commands(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(start) = rest.find("openssl ") {
            let tail = &rest[start..];
            let end = tail.find('`').unwrap_or(tail.len());
            // gen.sh quotes its file names and comments its lines.
            let command = tail[..end].split(" #").next().unwrap_or_default().replace('"', "");
            let command = command.trim().to_owned();
            let is_key_command = command.starts_with("openssl genpkey ") || command.starts_with("openssl pkey ");
            if is_key_command && !command.contains('…') && !found.contains(&command) {
                found.push(command);
            }
            rest = &tail[end..];
        }
    }
    found
}

/// A command without its input and output files: what decides the kind of key it makes.
fn shape(command: &str) -> String {
    let mut words = command.split_whitespace();
    let mut kept = Vec::new();
    while let Some(word) = words.next() {
        if word == "-in" || word == "-out" {
            words.next();
        } else {
            kept.push(word);
        }
    }
    kept.join(" ")
}

/// The value of `-out` in a command.
fn output(command: &str) -> &str {
    let words: Vec<&str> = command.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "-out").unwrap_or_else(|| panic!("no `-out` in `{command}`"));
    words.get(at + 1).unwrap_or_else(|| panic!("nothing after `-out` in `{command}`"))
}

/// Loads a private key and checks it is one, of the algorithm `from_pem` gives it.
fn load_private(pem: &str, what: &str) -> Key {
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{what}: not PKCS#8 `PRIVATE KEY`:\n{pem}");
    let key = Key::from_pem(pem).unwrap_or_else(|e| panic!("{what}: Key::from_pem refused it: {e}"));
    assert!(key.is_private(), "{what}: loaded without its private part");
    key
}

/// Loads the public part of `private` and checks it is that key's, verification only.
fn check_public(pem: &str, private: &Key, what: &str) {
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{what}: not `PUBLIC KEY`:\n{pem}");
    let public = Key::from_pem(pem).unwrap_or_else(|e| panic!("{what}: Key::from_pem refused it: {e}"));
    assert!(!public.is_private(), "{what}: a public key that can sign");
    assert_eq!(public.kid(), private.kid(), "{what}: not the public part of the generated key");
    assert_eq!(public.algorithm(), private.algorithm(), "{what}");
}

/// Every algorithm attesto signs with is reached: ES256, EdDSA and RS256 by `from_pem`, PS256 by
/// `from_pem_with_algorithm` on the RSA key.
fn check_algorithms(keys: &[(Key, String)]) {
    let algorithms: BTreeSet<&str> = keys.iter().map(|(key, _)| key.algorithm().as_str()).collect();
    assert_eq!(algorithms, BTreeSet::from(["ES256", "EdDSA", "RS256"]), "the guide's commands");
    let (_, rsa) = keys.iter().find(|(key, _)| key.algorithm() == Algorithm::RS256).expect("an RSA key");
    let pss = Key::from_pem_with_algorithm(rsa, Algorithm::PS256).expect("an RSA key signs PS256");
    assert_eq!(pss.algorithm(), Algorithm::PS256);
}

#[test]
fn the_guides_key_commands_made_the_fixtures_and_from_pem_accepts_them() {
    let guide = key_commands(&guide());
    let script = key_commands(&read(&Path::new(ROOT).join(FIXTURES).join("gen.sh")));
    let generating: Vec<&String> = guide.iter().filter(|c| c.starts_with("openssl genpkey ")).collect();
    assert_eq!(generating.len(), 3, "one `openssl genpkey` per key type in the guide: {guide:?}");

    let mut keys = Vec::new();
    for command in &generating {
        let made_by = script
            .iter()
            .find(|c| shape(c) == shape(command))
            .unwrap_or_else(|| panic!("`{command}` is not a command of gen.sh, which made the fixtures: {script:?}"));
        let file = output(made_by);
        let pem = fixture(file);
        keys.push((load_private(&pem, file), pem));
    }
    check_algorithms(&keys);

    // The public part, as the guide extracts it: gen.sh made `*.pub.pem` the same way.
    let pubout: Vec<&String> = guide.iter().filter(|c| c.starts_with("openssl pkey ")).collect();
    assert_eq!(pubout.len(), 1, "one `openssl pkey` command in the guide: {guide:?}");
    assert!(
        script.iter().any(|c| shape(c) == shape(pubout[0])),
        "`{}` is not a command of gen.sh: {script:?}",
        pubout[0]
    );
    for command in &generating {
        let made_by = script.iter().find(|c| shape(c) == shape(command)).expect("found above");
        let public_file = output(made_by).replace(".pkcs8.pem", ".pub.pem");
        let private = load_private(&fixture(output(made_by)), output(made_by));
        check_public(&fixture(&public_file), &private, &public_file);
    }
}

#[test]
fn what_the_guide_says_of_key_forms_holds() {
    let guide = guide();
    // Existing keys in SEC1 and PKCS#1 form load as they are.
    assert_eq!(Key::from_pem(&fixture("p256.sec1.pem")).expect("SEC1 P-256").algorithm(), Algorithm::ES256);
    assert_eq!(Key::from_pem(&fixture("rsa2048.pkcs1.pem")).expect("PKCS#1 RSA").algorithm(), Algorithm::RS256);
    // A 1024-bit RSA key is refused, with the message the guide quotes.
    let short = Key::from_pem(&fixture("rsa1024.pkcs8.pem")).expect_err("1024 bits is too short");
    let expected = "not a P-256, Ed25519 or RSA (2048 bits or more) PKCS#8 key";
    assert_eq!(short, KeyError::Rejected(expected.to_owned()));
    // The guide quotes it, broken over two lines.
    let quoted = guide.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(quoted.contains(&format!("`{short}`")), "the guide quotes `{short}`");
    // P-384 does not sign, in either form.
    let p384 = Key::from_pem(&fixture("p384.pkcs8.pem")).expect_err("P-384 does not sign");
    assert_eq!(p384.to_string(), "the key was rejected: not a P-256, Ed25519 or RSA (2048 bits or more) PKCS#8 key");
    let p384 = Key::from_pem(&fixture("p384.sec1.pem")).expect_err("P-384 does not sign");
    assert_eq!(p384.to_string(), "the key was rejected: not a P-256 SEC1 key (only ES256 is supported)");
}

/// A directory of its own under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("attesto-{name}-{}-{:x}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir(&path).expect("create a temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        drop(std::fs::remove_dir_all(&self.0));
    }
}

/// Runs `command` in `dir` under `umask 077`, as the guide does.
fn run(dir: &Path, command: &str) {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("umask 077 && {command}"))
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("`{command}`: {e}"));
    assert!(
        output.status.success(),
        "`{command}` failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_guides_key_commands_run_with_this_openssl() {
    match Command::new("openssl").arg("version").output() {
        Ok(output) if output.status.success() => {}
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("openssl is not installed: CI=true runs the guide's openssl commands, install openssl")
        }
        _ => {
            eprintln!("skipped: openssl is not installed (the fixtures test covers the commands without it)");
            return;
        }
    }
    let commands = key_commands(&guide());
    let pubout = commands.iter().find(|c| c.starts_with("openssl pkey ")).expect("the guide extracts the public part");
    let mut keys = Vec::new();
    for command in commands.iter().filter(|c| c.starts_with("openssl genpkey ")) {
        // Each in a directory of its own: the guide names every key `signing-key.pem`.
        let dir = TempDir::new("guide-keys");
        run(&dir.0, command);
        let file = dir.0.join(output(command));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).expect("the key file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "`{command}` under umask 077: the key is its owner's alone");
        }
        let pem = read(&file);
        let private = load_private(&pem, command);
        run(&dir.0, pubout);
        check_public(&read(&dir.0.join(output(pubout))), &private, pubout);
        keys.push((private, pem));
    }
    check_algorithms(&keys);
}
