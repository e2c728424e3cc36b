use super::*;
use crate::booking::{BookingSource, BookingStatus};
use crate::ports::{TicketSigner, VerifyingKey};
use crate::{Timestamp, UserId};
use chrono::TimeZone;
use proptest::prelude::*;
use sha2::Sha512;

/// Signs with a keyed SHA-512 instead of Ed25519: enough to test the code format here;
/// the real signer is tested in its adapter.
struct FakeSigner {
    keys: Vec<[u8; 4]>,
}

impl TicketSigner for FakeSigner {
    fn signing_key(&self) -> KeyId {
        KeyId(self.keys[0])
    }

    fn sign(&self, message: &[u8]) -> [u8; 64] {
        let key = self.signing_key();
        sign_with(key, message)
    }

    fn verify(&self, key: KeyId, message: &[u8], signature: &[u8; 64]) -> Result<(), CodeError> {
        if !self.keys.contains(&key.0) {
            return Err(CodeError::UnknownKey(key));
        }
        if sign_with(key, message) == *signature {
            Ok(())
        } else {
            Err(CodeError::BadSignature)
        }
    }

    fn verifying_keys(&self) -> Vec<VerifyingKey> {
        Vec::new()
    }
}

fn sign_with(key: KeyId, message: &[u8]) -> [u8; 64] {
    Sha512::new()
        .chain_update(key.0)
        .chain_update(message)
        .finalize()
        .into()
}

fn at(second: i64) -> Timestamp {
    chrono::Utc
        .timestamp_opt(1_800_000_000 + second, 0)
        .unwrap()
}

fn booking(quantity: u32) -> Booking {
    Booking {
        id: BookingId::generate(),
        event_id: EventId::generate(),
        ticket_type_id: TicketTypeId::generate(),
        user_id: UserId::generate(),
        quantity,
        price_cents: 0,
        status: BookingStatus::Confirmed,
        source: BookingSource::Direct,
        created_at: at(0),
        cancelled_at: None,
    }
}

fn number(n: u32) -> TicketNumber {
    TicketNumber::new(n).unwrap()
}

fn claims(booking: &Booking, n: u32) -> TicketClaims {
    TicketClaims {
        event_id: booking.event_id,
        booking_id: booking.id,
        ticket_type_id: booking.ticket_type_id,
        number: number(n),
    }
}

fn scan(booking: &Booking, n: u32, second: i64) -> Scan {
    Scan {
        ticket: claims(booking, n),
        scanner: Scanner::User(UserId::generate()),
        scanned_at: at(second),
        recorded_at: at(100),
        offline: false,
    }
}

fn offline_scan(booking: &Booking, n: u32, second: i64) -> Scan {
    Scan {
        offline: true,
        ..scan(booking, n, second)
    }
}

/// Applies `scan` as a store would, returning the outcome.
fn apply(tickets: &mut BookingTickets, scan: Scan) -> CheckInOutcome {
    let (outcome, write) = decide_check_in(Some(tickets), scan);
    match write {
        CheckInWrite::None => {}
        CheckInWrite::Insert(new) => tickets.check_ins.push(new),
        CheckInWrite::Replace { old, new } => {
            tickets.check_ins.retain(|c| c.id != old.id);
            tickets.check_ins.push(new);
        }
    }
    outcome
}

fn statuses(tickets: &BookingTickets) -> Vec<&'static str> {
    tickets
        .tickets()
        .iter()
        .map(|t| t.status.as_str())
        .collect()
}

#[test]
fn ticket_numbers_are_one_to_the_most_a_booking_holds() {
    assert!(TicketNumber::new(0).is_err());
    assert!(TicketNumber::new(MAX_QUANTITY + 1).is_err());
    assert_eq!(TicketNumber::new(MAX_QUANTITY).unwrap().get(), 100);
}

#[test]
fn ticket_ids_are_stable_distinct_v8_uuids() {
    let booking = BookingId::generate();
    let first = TicketId::of(booking, number(1));
    assert_eq!(first, TicketId::of(booking, number(1)));
    assert_ne!(first, TicketId::of(booking, number(2)));
    assert_ne!(first, TicketId::of(BookingId::generate(), number(1)));
    assert_eq!(first.as_uuid().get_version_num(), 8);
    assert_eq!(first.to_string().parse::<TicketId>().unwrap(), first);
}

#[test]
fn a_booking_has_one_valid_ticket_per_seat() {
    let tickets = BookingTickets {
        booking: booking(3),
        issued: 3,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    assert_eq!(statuses(&tickets), ["valid", "valid", "valid"]);
    let listed = tickets.tickets();
    assert_eq!(listed[2].number, number(3));
    assert_eq!(listed[2].id, TicketId::of(tickets.booking.id, number(3)));
}

#[test]
fn a_partial_cancellation_voids_the_newest_valid_tickets() {
    let mut tickets = BookingTickets {
        booking: booking(4),
        issued: 4,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    let fourth = scan(&tickets.booking, 4, 1);
    assert!(matches!(
        apply(&mut tickets, fourth),
        CheckInOutcome::CheckedIn { .. }
    ));
    tickets.booking.quantity = 3;
    assert_eq!(
        statuses(&tickets),
        ["valid", "valid", "voided", "checked_in"]
    );
    tickets.booking.quantity = 1;
    assert_eq!(
        statuses(&tickets),
        ["voided", "voided", "voided", "checked_in"]
    );
}

#[test]
fn cancelled_seats_list_as_voided_up_to_the_tickets_issued() {
    let mut tickets = BookingTickets {
        booking: booking(3),
        issued: 3,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    tickets.booking.quantity = 1;
    assert_eq!(statuses(&tickets), ["valid", "voided", "voided"]);
}

#[test]
fn a_cancellation_that_names_a_ticket_voids_that_one() {
    let mut tickets = BookingTickets {
        booking: booking(3),
        issued: 3,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    tickets.booking.quantity = 2;
    tickets.voided.insert(number(1));
    assert_eq!(statuses(&tickets), ["voided", "valid", "valid"]);
    let first = scan(&tickets.booking, 1, 1);
    assert_eq!(apply(&mut tickets, first), CheckInOutcome::Voided);
}

#[test]
fn a_cancelled_booking_voids_every_ticket_not_checked_in() {
    let mut tickets = BookingTickets {
        booking: booking(2),
        issued: 2,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    let first = scan(&tickets.booking, 1, 1);
    apply(&mut tickets, first);
    tickets.booking.status = BookingStatus::Cancelled;
    assert_eq!(statuses(&tickets), ["checked_in", "voided"]);
    let second = scan(&tickets.booking, 2, 2);
    assert_eq!(apply(&mut tickets, second), CheckInOutcome::Voided);
}

#[test]
fn a_ticket_checks_in_once_and_later_scans_name_the_first() {
    let mut tickets = BookingTickets {
        booking: booking(1),
        issued: 1,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    let first = scan(&tickets.booking, 1, 10);
    let CheckInOutcome::CheckedIn { check_in, replaced } = apply(&mut tickets, first) else {
        panic!("the first scan checks in");
    };
    assert_eq!(replaced, None);
    let again = scan(&tickets.booking, 1, 11);
    assert_eq!(
        apply(&mut tickets, again),
        CheckInOutcome::AlreadyCheckedIn(check_in)
    );
}

#[test]
fn an_earlier_offline_scan_takes_the_place_of_a_later_check_in() {
    let mut tickets = BookingTickets {
        booking: booking(1),
        issued: 1,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    let online = scan(&tickets.booking, 1, 50);
    apply(&mut tickets, online);
    let offline = offline_scan(&tickets.booking, 1, 20);
    let CheckInOutcome::CheckedIn { check_in, replaced } = apply(&mut tickets, offline) else {
        panic!("the earlier scan wins");
    };
    assert_eq!(check_in.scanned_at, at(20));
    assert_eq!(replaced.map(|r| r.scanned_at), Some(at(50)));
    assert_eq!(tickets.check_ins.len(), 1);
}

#[test]
fn an_online_scan_never_takes_the_place_of_a_check_in_whatever_the_clocks_say() {
    let mut tickets = BookingTickets {
        booking: booking(1),
        issued: 1,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    let first = scan(&tickets.booking, 1, 50);
    let CheckInOutcome::CheckedIn { check_in, .. } = apply(&mut tickets, first) else {
        panic!("checks in");
    };
    let racing = scan(&tickets.booking, 1, 49);
    assert_eq!(
        apply(&mut tickets, racing),
        CheckInOutcome::AlreadyCheckedIn(check_in)
    );
}

#[test]
fn scans_of_another_event_type_or_booking_are_not_found() {
    let tickets = BookingTickets {
        booking: booking(1),
        issued: 1,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    let mut other_event = scan(&tickets.booking, 1, 1);
    other_event.ticket.event_id = EventId::generate();
    let mut other_type = scan(&tickets.booking, 1, 1);
    other_type.ticket.ticket_type_id = TicketTypeId::generate();
    for wrong in [other_event, other_type] {
        assert_eq!(
            decide_check_in(Some(&tickets), wrong),
            (CheckInOutcome::NotFound, CheckInWrite::None)
        );
    }
    let scan = scan(&tickets.booking, 1, 1);
    assert_eq!(decide_check_in(None, scan).0, CheckInOutcome::NotFound);
}

#[test]
fn a_number_the_booking_never_had_is_voided() {
    let mut tickets = BookingTickets {
        booking: booking(2),
        issued: 2,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
    let beyond = scan(&tickets.booking, 3, 1);
    assert_eq!(apply(&mut tickets, beyond), CheckInOutcome::Voided);
}

#[test]
fn undo_is_allowed_within_the_window_only() {
    assert!(undo_allowed(at(0), at(120)));
    assert!(!undo_allowed(at(0), at(121)));
}

#[test]
fn codes_round_trip_and_refuse_forgeries() {
    let signer = FakeSigner {
        keys: vec![*b"key1"],
    };
    let booking = booking(2);
    let claims = claims(&booking, 2);
    let code = claims.encode(&signer);
    assert!(code.len() < 200, "{} characters", code.len());
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert_eq!(TicketClaims::decode(&code, &signer), Ok(claims));
    assert_eq!(
        TicketClaims::decode(&format!(" {} ", code.to_lowercase()), &signer),
        Ok(claims)
    );
    assert_eq!(claims.ticket_id(), TicketId::of(booking.id, number(2)));

    let mut bytes = data_encoding::BASE32_NOPAD.decode(code.as_bytes()).unwrap();
    bytes[54] ^= 1; // another ticket number
    let changed = data_encoding::BASE32_NOPAD.encode(&bytes);
    assert_eq!(
        TicketClaims::decode(&changed, &signer),
        Err(CodeError::BadSignature)
    );

    let other = FakeSigner {
        keys: vec![*b"key2"],
    };
    assert_eq!(
        TicketClaims::decode(&claims.encode(&other), &signer),
        Err(CodeError::UnknownKey(KeyId(*b"key2")))
    );
    assert!(matches!(
        TicketClaims::decode(&code[..code.len() - 8], &signer),
        Err(CodeError::Malformed(_))
    ));
    assert!(matches!(
        TicketClaims::decode("not a code!", &signer),
        Err(CodeError::Malformed(_))
    ));
}

#[test]
fn codes_of_retired_keys_stay_valid_while_the_key_verifies() {
    let old = FakeSigner {
        keys: vec![*b"old1"],
    };
    let rotated = FakeSigner {
        keys: vec![*b"new1", *b"old1"],
    };
    let booking = booking(1);
    let code = claims(&booking, 1).encode(&old);
    assert_eq!(
        TicketClaims::decode(&code, &rotated),
        Ok(claims(&booking, 1))
    );
    let fresh = claims(&booking, 1).encode(&rotated);
    assert_ne!(fresh, code);
}

#[derive(Debug, Clone)]
enum Step {
    Cancel(u32),
    CancelNamed(u32),
    Scan(u32, i64, bool),
    Undo(u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1_u32..4).prop_map(Step::Cancel),
        (1_u32..9).prop_map(Step::CancelNamed),
        (1_u32..9).prop_map(Step::Undo),
        (1_u32..9, 0_i64..50, any::<bool>()).prop_map(|(n, t, offline)| Step::Scan(n, t, offline)),
    ]
}

proptest! {
    /// Whatever mix of cancellations and (online or offline) scans: no more people get
    /// in than the booking had seats when they did, a voided ticket never becomes valid
    /// again, a ticket is in at most once, and a cancellation voids the newest valid
    /// tickets.
    #[test]
    fn tickets_follow_their_booking(quantity in 1_u32..8, steps in proptest::collection::vec(step(), 0..30)) {
        let mut tickets = BookingTickets {
        booking: booking(quantity),
        issued: quantity,
        voided: BTreeSet::new(),
        check_ins: Vec::new(),
    };
        let mut voided = BTreeSet::new();
        for step in steps {
            let before = tickets.tickets();
            match step {
                Step::Cancel(k) => {
                    let unused = before.iter().filter(|t| t.status == TicketStatus::Valid).count();
                    let booking = &mut tickets.booking;
                    if booking.status == BookingStatus::Cancelled {
                        continue;
                    }
                    // The service refuses to give back the seat of a used ticket.
                    if !tickets.check_ins.is_empty() && k.min(booking.quantity) > u32::try_from(unused).unwrap() {
                        continue;
                    }
                    if k >= booking.quantity {
                        booking.status = BookingStatus::Cancelled;
                    } else {
                        booking.quantity -= k;
                    }
                    let valid_before: Vec<_> = before.iter().filter(|t| t.status == TicketStatus::Valid).map(|t| t.number).collect();
                    let valid_after: Vec<_> = tickets.tickets().iter().filter(|t| t.status == TicketStatus::Valid).map(|t| t.number).collect();
                    prop_assert!(valid_before.starts_with(&valid_after), "{valid_before:?} then {valid_after:?}");
                    // ... and records which tickets it voided.
                    tickets.voided.extend(valid_before.iter().filter(|n| !valid_after.contains(n)));
                }
                Step::Undo(n) => {
                    tickets.check_ins.retain(|c| u32::from(c.ticket.number.get()) != n);
                }
                Step::CancelNamed(n) => {
                    let was = before.iter().find(|x| u32::from(x.number.get()) == n).map(|x| x.status);
                    if was != Some(TicketStatus::Valid) {
                        continue;
                    }
                    let booking = &mut tickets.booking;
                    if booking.quantity == 1 {
                        booking.status = BookingStatus::Cancelled;
                    } else {
                        booking.quantity -= 1;
                    }
                    tickets.voided.insert(number(n));
                    let valid = |list: &[Ticket]| list.iter().filter(|t| t.status == TicketStatus::Valid).map(|t| t.number).collect::<BTreeSet<_>>();
                    let mut expected = valid(&before);
                    expected.remove(&number(n));
                    prop_assert_eq!(valid(&tickets.tickets()), expected, "naming a ticket voids that one");
                }
                Step::Scan(n, t, offline) => {
                    let scan = Scan { offline, ..scan(&tickets.booking, n, t) };
                    let outcome = apply(&mut tickets, scan);
                    let was = before.iter().find(|x| x.number.get() == u16::try_from(n).unwrap()).map(|x| x.status);
                    match outcome {
                        CheckInOutcome::CheckedIn { replaced: None, .. } => prop_assert_eq!(was, Some(TicketStatus::Valid)),
                        CheckInOutcome::CheckedIn { replaced: Some(_), .. } => prop_assert!(offline && was == Some(TicketStatus::CheckedIn)),
                        CheckInOutcome::AlreadyCheckedIn(_) => prop_assert_eq!(was, Some(TicketStatus::CheckedIn)),
                        CheckInOutcome::Voided => prop_assert!(was.is_none_or(|s| s == TicketStatus::Voided)),
                        CheckInOutcome::NotFound => prop_assert!(false, "same booking"),
                    }
                }
            }
            let now = tickets.tickets();
            for t in &now {
                if t.status == TicketStatus::Voided {
                    voided.insert(t.number);
                }
                prop_assert!(!(voided.contains(&t.number) && t.status == TicketStatus::Valid));
            }
            let numbers: BTreeSet<_> = tickets.check_ins.iter().map(|c| c.ticket.number).collect();
            prop_assert_eq!(numbers.len(), tickets.check_ins.len());
            prop_assert!(u32::try_from(numbers.len()).unwrap() <= quantity);
            if tickets.booking.status == BookingStatus::Confirmed {
                prop_assert!(u32::try_from(numbers.len()).unwrap() <= tickets.booking.quantity, "more people in than seats");
            }
            let valid = now.iter().filter(|t| t.status == TicketStatus::Valid).count();
            let seats = if tickets.booking.status == BookingStatus::Confirmed { tickets.booking.quantity } else { 0 };
            prop_assert_eq!(u32::try_from(valid).unwrap(), seats.saturating_sub(u32::try_from(numbers.len()).unwrap()));
        }
    }
}
