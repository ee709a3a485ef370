//! Field checks shared by every request type, collecting all errors before answering.

use crate::error::{ApiError, FieldError};

/// Collects field errors so one answer lists every problem of a request.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` against `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) -> &mut Self {
        if !ok {
            self.errors.push(FieldError::new(field, message));
        }
        self
    }

    /// Requires at least one role, none repeated.
    pub fn roles(&mut self, field: &str, roles: &[crate::domain::role::Role]) -> &mut Self {
        let mut distinct = roles.to_vec();
        distinct.sort();
        distinct.dedup();
        self.check(!roles.is_empty(), field, "must name at least one role")
            .check(
                distinct.len() == roles.len(),
                field,
                "must not repeat a role",
            )
    }

    /// Requires non-blank text of at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> &mut Self {
        if value.trim().is_empty() {
            self.check(false, field, "must not be blank")
        } else {
            self.max_len(field, value, max)
        }
    }

    /// Optional text: when present, at most `max` characters and no control characters.
    pub fn max_len(&mut self, field: &str, value: &str, max: usize) -> &mut Self {
        let length = value.chars().count();
        self.check(
            length <= max,
            field,
            format!("must be at most {max} characters (got {length})"),
        );
        self.check(
            !value
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            field,
            "must not contain control characters",
        )
    }

    /// A stable code: upper-case letters, digits, `-`, `_` and `.`, starting with a letter or
    /// digit, at most 40 characters; this keeps codes safe in paths, file names and CSV cells.
    pub fn code(&mut self, field: &str, value: &str) -> &mut Self {
        self.check(
            is_code(value),
            field,
            "must be 1–40 characters of A–Z, 0–9, '-', '_' or '.', starting with a letter or digit",
        )
    }

    pub fn push(&mut self, error: FieldError) -> &mut Self {
        self.errors.push(error);
        self
    }

    /// `Ok` when nothing was recorded, else a 422 listing every field.
    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(std::mem::take(&mut self.errors)))
        }
    }
}

pub fn is_code(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c.is_ascii_digit())
        && value.len() <= 40
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-_.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        for ok in ["SKHDT-DKKD", "UBND-TINH", "A", "000.00.00.H20"] {
            assert!(is_code(ok), "{ok}");
        }
        for bad in ["", "skhdt", "../etc", "-A", "A B", "Đ", &"A".repeat(41)] {
            assert!(!is_code(bad), "{bad}");
        }
    }

    #[test]
    fn collects_every_error() {
        let mut checks = Checks::new();
        checks
            .text("name", " ", 10)
            .text("title", "abcdefghijk", 10)
            .max_len("note", "a\u{0}b", 10);
        match checks.finish() {
            Err(ApiError::Validation(errors)) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["name", "title", "note"]);
            }
            other => panic!("expected validation errors, got {other:?}"),
        }
        assert!(Checks::new().finish().is_ok());
    }
}
