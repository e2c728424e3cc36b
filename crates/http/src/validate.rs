//! Parsing several request fields at once, reporting every invalid one together.

use crate::error::ApiError;
use boxoffice_domain::validation::FieldError;

/// A field's name and the result of parsing it.
pub type Field<'a, T> = (&'a str, Result<T, String>);

fn failure<T>(field: &Field<'_, T>) -> Option<FieldError> {
    field
        .1
        .as_ref()
        .err()
        .map(|message| FieldError::new(field.0, message.clone()))
}

/// Both values, or a 422 listing each field that failed.
///
/// # Errors
/// `validation_failed` naming every invalid field.
pub fn fields2<A, B>(a: Field<'_, A>, b: Field<'_, B>) -> Result<(A, B), ApiError> {
    let errors: Vec<_> = [failure(&a), failure(&b)].into_iter().flatten().collect();
    match (a.1, b.1) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        _ => Err(ApiError::validation(errors)),
    }
}

/// All three values, or a 422 listing each field that failed.
///
/// # Errors
/// `validation_failed` naming every invalid field.
pub fn fields3<A, B, C>(
    a: Field<'_, A>,
    b: Field<'_, B>,
    c: Field<'_, C>,
) -> Result<(A, B, C), ApiError> {
    let errors: Vec<_> = [failure(&a), failure(&b), failure(&c)]
        .into_iter()
        .flatten()
        .collect();
    match (a.1, b.1, c.1) {
        (Ok(a), Ok(b), Ok(c)) => Ok((a, b, c)),
        _ => Err(ApiError::validation(errors)),
    }
}
