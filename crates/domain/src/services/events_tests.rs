//! Unit tests of the event use cases, with a mocked repository.

use super::*;
use crate::event::{EventStatus, tests_support::details};
use crate::ports::MockEventRepository;
use crate::time::MockClock;
use crate::user::Role;
use crate::{TicketTypeId, UserId};
use chrono::Utc;

fn user(role: Role) -> User {
    User {
        id: UserId::generate(),
        name: "Org".into(),
        email: "org@example.org".into(),
        role,
        active: true,
        created_at: Utc::now(),
        tokens_valid_from: None,
    }
}

fn service(repo: MockEventRepository) -> EventService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(Utc::now);
    let mut audit = crate::ports::MockAuditLog::new();
    audit.expect_record().returning(|_| Ok(()));
    EventService::new(Arc::new(repo), Arc::new(clock), Arc::new(audit))
}

fn snapshot(event: Event) -> crate::event::EventSnapshot {
    crate::event::EventSnapshot {
        event,
        version: 1,
        changes_at: None,
    }
}

fn stored(new: &NewEvent) -> Event {
    Event {
        id: new.id,
        organizer_id: new.organizer_id,
        details: new.details.clone(),
        status: EventStatus::Scheduled,
        created_at: new.created_at,
        sold: 0,
        held: 0,
        waitlist_count: 0,
        ticket_types: vec![],
    }
}

#[tokio::test]
async fn attendees_cannot_publish() {
    let mut repo = MockEventRepository::new();
    repo.expect_create().never();
    let result = service(repo)
        .create(&user(Role::Attendee), details(), None)
        .await;
    assert!(matches!(result, Err(EventError::Forbidden)));
}

#[tokio::test]
async fn events_without_types_get_one_general_type() {
    let mut repo = MockEventRepository::new();
    repo.expect_create()
        .withf(|e| {
            e.ticket_types.len() == 1
                && e.ticket_types[0].name == "General"
                && e.ticket_types[0].price_cents == 0
                && e.ticket_types[0].quantity.is_none()
        })
        .times(1)
        .returning(|e| Ok(stored(e)));
    service(repo)
        .create(&user(Role::Organizer), details(), None)
        .await
        .expect("created");
}

#[tokio::test]
async fn invalid_events_report_every_field_and_store_nothing() {
    let mut repo = MockEventRepository::new();
    repo.expect_create().never();
    let mut bad = details();
    bad.capacity = 0;
    let types = vec![NewTicketType {
        id: TicketTypeId::generate(),
        name: String::new(),
        price_cents: -1,
        quantity: None,
    }];
    let Err(EventError::Invalid(errors)) = service(repo)
        .create(&user(Role::Admin), bad, Some(types))
        .await
    else {
        panic!("expected a validation failure");
    };
    let fields: Vec<_> = errors.into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "capacity",
            "ticket_types[0].name",
            "ticket_types[0].price_cents"
        ]
    );
}

#[tokio::test]
async fn only_the_owner_or_an_admin_changes_an_event() {
    let owner = user(Role::Organizer);
    let event = stored(&NewEvent {
        id: crate::EventId::generate(),
        organizer_id: owner.id,
        details: details(),
        ticket_types: vec![],
        created_at: Utc::now(),
    });
    let mut repo = MockEventRepository::new();
    let found = event.clone();
    repo.expect_snapshot()
        .returning(move |_, _| Ok(Some(snapshot(found.clone()))));
    let updated = event.clone();
    repo.expect_update_details()
        .times(2)
        .returning(move |_, _, _| Ok(updated.clone()));
    let service = service(repo);
    let changes = EventChanges {
        capacity: Some(50),
        ..EventChanges::default()
    };
    assert!(matches!(
        service
            .update(&user(Role::Organizer), event.id, &changes)
            .await,
        Err(EventError::Forbidden)
    ));
    service
        .update(&owner, event.id, &changes)
        .await
        .expect("owner may");
    service
        .update(&user(Role::Admin), event.id, &changes)
        .await
        .expect("admin may");
}

#[tokio::test]
async fn capacity_below_sold_is_passed_on() {
    let admin = user(Role::Admin);
    let event = stored(&NewEvent {
        id: crate::EventId::generate(),
        organizer_id: UserId::generate(),
        details: details(),
        ticket_types: vec![],
        created_at: Utc::now(),
    });
    let mut repo = MockEventRepository::new();
    repo.expect_snapshot()
        .returning(move |_, _| Ok(Some(snapshot(event.clone()))));
    repo.expect_update_details()
        .returning(|_, _, _| Err(UpdateEventError::CapacityBelowSold { taken: 7 }));
    let changes = EventChanges {
        capacity: Some(5),
        ..EventChanges::default()
    };
    let result = service(repo)
        .update(&admin, crate::EventId::generate(), &changes)
        .await;
    assert!(matches!(
        result,
        Err(EventError::CapacityBelowSold { taken: 7 })
    ));
}

/// An event of `owner` with 100 seats, as the repository returns it.
fn owned_by(owner: &User) -> Event {
    stored(&NewEvent {
        id: crate::EventId::generate(),
        organizer_id: owner.id,
        details: details(),
        ticket_types: vec![],
        created_at: Utc::now(),
    })
}

#[tokio::test]
async fn only_the_owner_or_an_admin_changes_ticket_types_and_fields_are_checked_first() {
    let owner = user(Role::Organizer);
    let event = owned_by(&owner);
    let mut repo = MockEventRepository::new();
    let found = event.clone();
    repo.expect_snapshot()
        .returning(move |_, _| Ok(Some(snapshot(found.clone()))));
    let added = event.clone();
    repo.expect_add_ticket_type()
        .withf(|_, t, _| t.name == "Student" && t.quantity == Some(100))
        .times(1)
        .returning(move |_, _, _| Ok(added.clone()));
    repo.expect_change_ticket_type().never();
    let retired = event.clone();
    repo.expect_retire_ticket_type()
        .times(1)
        .returning(move |_, _, _| Ok(retired.clone()));
    let service = service(repo);
    let student = |quantity| NewTicketType {
        id: TicketTypeId::generate(),
        name: "Student".into(),
        price_cents: 500,
        quantity,
    };
    let ty = TicketTypeId::generate();
    let stranger = user(Role::Organizer);
    assert!(matches!(
        service
            .add_ticket_type(&stranger, event.id, student(None))
            .await,
        Err(EventError::Forbidden)
    ));
    assert!(matches!(
        service.retire_ticket_type(&stranger, event.id, ty).await,
        Err(EventError::Forbidden)
    ));
    let Err(EventError::Invalid(errors)) = service
        .add_ticket_type(&owner, event.id, student(Some(101)))
        .await
    else {
        panic!("a quantity above the capacity is invalid");
    };
    let fields: Vec<_> = errors.into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["quantity"], "named as in the request body");
    let too_cheap = TicketTypeChanges {
        price_cents: Some(-1),
        ..TicketTypeChanges::default()
    };
    assert!(matches!(
        service
            .change_ticket_type(&owner, event.id, ty, &too_cheap)
            .await,
        Err(EventError::Invalid(_))
    ));
    service
        .add_ticket_type(&owner, event.id, student(Some(100)))
        .await
        .expect("owner may");
    service
        .retire_ticket_type(&user(Role::Admin), event.id, ty)
        .await
        .expect("admin may");
}

#[tokio::test]
async fn ticket_type_refusals_are_passed_on() {
    let admin = user(Role::Admin);
    let event = owned_by(&user(Role::Organizer));
    let mut repo = MockEventRepository::new();
    repo.expect_snapshot()
        .returning(move |_, _| Ok(Some(snapshot(event.clone()))));
    let mut refusals = vec![
        TicketTypeError::QuantityBelowSold { taken: 4 },
        TicketTypeError::Retired,
        TicketTypeError::NameTaken,
    ]
    .into_iter();
    repo.expect_change_ticket_type()
        .times(3)
        .returning(move |_, _, _, _| Err(refusals.next().expect("three refusals")));
    let service = service(repo);
    let lower = TicketTypeChanges {
        quantity: Some(Some(3)),
        ..TicketTypeChanges::default()
    };
    let (id, ty) = (crate::EventId::generate(), TicketTypeId::generate());
    let results = [
        service.change_ticket_type(&admin, id, ty, &lower).await,
        service.change_ticket_type(&admin, id, ty, &lower).await,
        service.change_ticket_type(&admin, id, ty, &lower).await,
    ];
    assert!(matches!(
        results[0],
        Err(EventError::QuantityBelowSold { taken: 4 })
    ));
    assert!(matches!(results[1], Err(EventError::TicketTypeRetired)));
    let Err(EventError::Invalid(errors)) = &results[2] else {
        panic!("a taken name is a field error: {:?}", results[2]);
    };
    assert_eq!(errors[0].field, "name");
}
