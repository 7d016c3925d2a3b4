//! User codes of the device authorization grant (RFC 8628 §6.1): what the user reads on the
//! device and types on another one.
//!
//! Eight characters of the twenty upper-case consonants `BCDFGHJKLMNPQRSTVWXZ` (§6.1's
//! example): no vowels, so that no word is spelled by chance, and no digits or letters that look
//! alike (`0`/`O`, `1`/`I`). That is 20⁸ ≈ 2.6 × 10¹⁰ codes, about 34.5 bits: enough only because
//! codes live minutes and wrong guesses are rate-limited (`store/guesses.rs`). Shown as
//! `XXXX-XXXX`; read case-insensitively, ignoring dashes and spaces, as the RFC recommends.

/// The alphabet (RFC 8628 §6.1).
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// The length of a code, without its dash.
const LENGTH: usize = 8;

/// The longest input read as a code: a code with separators around and between every character
/// is still far shorter; anything longer is not a code, and is not looked at further.
const MAX_INPUT: usize = 64;

/// A fresh random user code, in its normal form (upper case, no dash).
pub(crate) fn generate() -> String {
    // 20 does not divide 256: bytes of 240 and over are drawn again, so that every character is
    // equally likely.
    let mut code = String::with_capacity(LENGTH);
    while code.len() < LENGTH {
        let byte: u8 = rand::random();
        if byte < 240 {
            code.push(char::from(ALPHABET[usize::from(byte % 20)]));
        }
    }
    code
}

/// The normal form of what a user typed: upper case, dashes and whitespace removed; `None` when
/// the rest is not eight characters of the alphabet.
pub(crate) fn normalize(input: &str) -> Option<String> {
    if input.len() > MAX_INPUT {
        return None;
    }
    let code: String =
        input.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    let valid = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A code as shown to the user: `XXXX-XXXX`.
pub(crate) fn display(code: &str) -> String {
    match (code.get(..LENGTH / 2), code.get(LENGTH / 2..)) {
        (Some(first), Some(second)) if code.len() == LENGTH => format!("{first}-{second}"),
        _ => code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_eight_consonants() {
        for _ in 0..200 {
            let code = generate();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            assert_eq!(normalize(&display(&code)).as_deref(), Some(code.as_str()));
        }
    }

    #[test]
    fn input_is_read_case_insensitively_without_dashes_and_spaces() {
        let cases = [
            ("BCDF-GHJK", Some("BCDFGHJK")),
            ("bcdf-ghjk", Some("BCDFGHJK")),
            ("bcdfghjk", Some("BCDFGHJK")),
            (" bc df gh jk ", Some("BCDFGHJK")),
            ("BCDF--GHJK", Some("BCDFGHJK")),
            ("BCDF-GHJ", None),
            ("BCDF-GHJKL", None),
            ("ABCD-EFGH", None),
            ("BCDF-GHJ1", None),
            ("BCDF-GHJÉ", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input).as_deref(), expected, "{input:?}");
        }
        assert_eq!(normalize(&"-".repeat(100)), None);
    }

    #[test]
    fn display_puts_a_dash_in_the_middle() {
        assert_eq!(display("BCDFGHJK"), "BCDF-GHJK");
    }
}
