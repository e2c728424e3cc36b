//! Field-level validation failures, reported to clients as 422 `validation_failed`.

use std::fmt;

/// One invalid field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client sent it (`capacity`, `ticket_types[1].name`).
    pub field: String,
    /// What is wrong, in words a client developer understands.
    pub message: String,
}

impl FieldError {
    /// A failure of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Whether `text` may be stored: every string the API accepts (in bodies, queries or
/// cursors) obeys this one rule, so every store gives the same answer. Everything but
/// NUL (U+0000) is allowed; Postgres cannot store NUL in text.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_text(text: &str) -> Result<(), String> {
    if text.contains('\0') {
        return Err("must not contain the NUL character (U+0000)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_anything_but_nul() {
        assert!(check_text("Zoë's \u{1F3AB} night\n\ttab").is_ok());
        assert!(check_text("").is_ok());
        assert!(check_text("a\0b").is_err());
        assert!(check_text("\0").is_err());
    }
}
