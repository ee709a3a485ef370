//! Text normalisation for Vietnamese names and codes.
//!
//! Text is stored NFC-normalised (what Vietnamese keyboards and documents produce most often),
//! and every searchable row also stores a *search key*: the text folded to lower-case ASCII
//! letters without tone or vowel marks, so that "dong thap" finds "Đồng Tháp".

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The NFC form of `text`, trimmed of surrounding white space.
pub fn nfc(text: &str) -> String {
    text.trim().nfc().collect()
}

/// Folds `text` for case- and diacritic-insensitive matching: decomposes it, drops the combining
/// marks, maps đ/Đ (a letter of its own, not a d with a mark) to d, lower-cases, and collapses
/// runs of white space to one space.
pub fn search_key(text: &str) -> String {
    let folded: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_vietnamese_marks_and_d_bar() {
        assert_eq!(search_key("Đồng Tháp"), "dong thap");
        assert_eq!(search_key("khởi nghiệp"), "khoi nghiep");
        assert_eq!(
            search_key("  Sở  Kế hoạch\tvà Đầu tư "),
            "so ke hoach va dau tu"
        );
        assert_eq!(search_key("1148/KH-SKHĐT"), "1148/kh-skhdt");
    }

    #[test]
    fn nfc_composes_decomposed_input() {
        let decomposed = "Đo\u{0302}\u{0300}ng"; // "Đồng" typed with combining marks
        assert_eq!(nfc(decomposed), "Đồng");
    }

    proptest! {
        #[test]
        fn search_key_is_idempotent(s in "\\PC{0,40}") {
            let once = search_key(&s);
            prop_assert_eq!(search_key(&once), once);
        }

        #[test]
        fn search_key_ignores_normalisation_form(s in "[a-zA-ZàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễđĐ ]{0,30}") {
            let composed: String = s.nfc().collect();
            let decomposed: String = s.nfd().collect();
            prop_assert_eq!(search_key(&composed), search_key(&decomposed));
        }

        #[test]
        fn search_key_is_plain_lowercase_ascii_for_vietnamese_letters(s in "[a-zA-ZàáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđĐ ]{0,30}") {
            let key = search_key(&s);
            prop_assert!(key.chars().all(|c| c.is_ascii_lowercase() || c == ' '), "{}", key);
        }
    }
}
