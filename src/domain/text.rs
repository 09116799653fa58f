//! Free-text fields as people type them: trimmed, bounded, without control characters.

use crate::error::{ServiceError, ServiceResult};

/// Checks a required free-text field: trimmed, non-empty, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> ServiceResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ServiceError::validation(field, "must not be empty"));
    }
    optional_text(field, Some(value), max).map(|v| v.unwrap_or_default())
}

pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> ServiceResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) if text.chars().count() > max => Err(ServiceError::validation(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(text) if text.chars().any(char::is_control) => Err(ServiceError::validation(
            field,
            "must not contain control characters",
        )),
        Some(text) => Ok(Some(text.to_string())),
    }
}
