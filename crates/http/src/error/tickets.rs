//! The answers of check-in and API-token refusals.

use super::{ApiError, conflict};
use actix_web::http::StatusCode;
use boxoffice_domain::services::{ApiTokenError, CancelTicketsError, CheckInError, UndoError};
use boxoffice_domain::ticket::CodeError;

/// 422 `invalid_ticket_code`, saying what is wrong without helping a forger further.
fn invalid_code(error: &CodeError) -> ApiError {
    let detail = match error {
        CodeError::Malformed(what) => format!("This is not a ticket code ({what})."),
        CodeError::UnknownKey(_) | CodeError::BadSignature => {
            "The ticket code's signature does not verify: it was changed or forged.".to_owned()
        }
    };
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_ticket_code",
        detail,
    )
}

impl From<CheckInError> for ApiError {
    fn from(e: CheckInError) -> Self {
        match e {
            CheckInError::InvalidCode(error) => invalid_code(&error),
            CheckInError::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such event, or the ticket is for another event.",
            ),
            CheckInError::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Only the event's organizer, admins and API tokens with the checkin scope for this event may check tickets in.",
            ),
            CheckInError::AlreadyCheckedIn(first) => {
                let mut error = conflict(
                    "already_checked_in",
                    format!(
                        "This ticket was checked in at {} by {}.",
                        first.scanned_at.to_rfc3339(),
                        first.scanner
                    ),
                );
                error.check_in = Some(Box::new(first.into()));
                error
            }
            CheckInError::Voided => conflict(
                "ticket_voided",
                "This ticket's seat was cancelled: it does not admit anyone.",
            ),
            CheckInError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<UndoError> for ApiError {
    fn from(e: UndoError) -> Self {
        match e {
            UndoError::NotCheckedIn => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "This ticket is not checked in.",
            ),
            UndoError::TooLate(check_in) => {
                let mut error = conflict(
                    "undo_window_passed",
                    "A check-in can be undone only within 2 minutes of being recorded.",
                );
                error.check_in = Some(Box::new(check_in.into()));
                error
            }
            UndoError::Door(e) => e.into(),
            UndoError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<ApiTokenError> for ApiError {
    fn from(e: ApiTokenError) -> Self {
        match e {
            ApiTokenError::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "API tokens can be made by organizers for their own events, and by admins.",
            ),
            ApiTokenError::UnknownEvent(id) => {
                Self::invalid_field("event_ids", format!("no event {id}"))
            }
            ApiTokenError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<CancelTicketsError> for ApiError {
    fn from(e: CancelTicketsError) -> Self {
        match e {
            CancelTicketsError::Cancel(e) => e.into(),
            CancelTicketsError::NotOfBooking(id) => Self::invalid_field(
                "ticket_ids",
                format!("{id} is not a ticket of this booking"),
            ),
            CancelTicketsError::CheckedIn(id) => conflict(
                "already_checked_in",
                format!("Ticket {id} was used at the door and cannot be cancelled."),
            ),
        }
    }
}
