//! Id newtypes: a user id can never be passed where an event id is expected.

use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh id; v7 UUIDs sort by creation time.
            #[must_use]
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps a UUID read from a store or a request.
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies a user account.
    UserId
);
id_type!(
    /// Identifies an event.
    EventId
);
id_type!(
    /// Identifies a ticket type of an event.
    TicketTypeId
);
id_type!(
    /// Identifies a chain of rotated refresh tokens (one login session).
    TokenFamilyId
);
id_type!(
    /// Identifies a hold: seats taken for a limited time, awaiting confirmation.
    HoldId
);
id_type!(
    /// Identifies a booking.
    BookingId
);
id_type!(
    /// Identifies a waitlist entry.
    WaitlistEntryId
);
