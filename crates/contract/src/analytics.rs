//! Contract of [`Analytics`](boxoffice_domain::ports::Analytics).

use crate::EngineStores;
use crate::engine::{
    attendee, attendees, base, book_n, event_with, open_details, organizer, qty, seats, secs,
    wait_n,
};
use boxoffice_domain::event::{EventDetails, NewTicketType};
use boxoffice_domain::ports::EventStats;
use boxoffice_domain::{EventId, HoldId, UserId};

/// Per event: capacity, sold, held, seats still booked by confirmed bookings made since
/// the given instant, seats ever cancelled and waiting entries; every event, or one
/// organizer's only.
pub async fn event_stats_per_event_and_organizer(stores: EngineStores) {
    let (o1, o2) = (organizer(&stores).await, organizer(&stores).await);
    let users = attendees(&stores, 5).await;
    let (x, a, b, c, d) = (&users[0], &users[1], &users[2], &users[3], &users[4]);
    let t = base();
    let named = |name: &str, capacity| EventDetails {
        name: name.to_owned(),
        ..open_details(t, capacity)
    };
    let general = || vec![NewTicketType::general()];
    let e1 = event_with(&stores, &o1, named("One", 10), general()).await;
    let e2 = event_with(&stores, &o1, named("Two", 5), general()).await;
    let e3 = event_with(&stores, &o2, named("Three", 1), general()).await;
    let since = secs(t, 100);

    book_n(&stores, e1.id, x.id, 3, t).await;
    let a1 = book_n(&stores, e1.id, a.id, 4, secs(t, 200)).await;
    book_n(&stores, e1.id, b.id, 2, secs(t, 201)).await;
    stores
        .bookings
        .cancel_booking(a1.id, Some(qty(1)), secs(t, 202))
        .await
        .expect("cancel 1");
    stores
        .reservations
        .hold(
            HoldId::generate(),
            &seats(e1.id, None, b.id, 1),
            secs(t, 203),
            t + chrono::Duration::days(2),
        )
        .await
        .expect("hold");

    let a2 = book_n(&stores, e2.id, a.id, 5, secs(t, 210)).await;
    wait_n(&stores, e2.id, c.id, 2, secs(t, 211)).await;
    wait_n(&stores, e2.id, d.id, 4, secs(t, 212)).await;
    stores
        .bookings
        .cancel_booking(a2.id, None, secs(t, 213))
        .await
        .expect("cancel all");

    let stats = |e: EventId, name: &str, capacity, figures: (u32, u32, u32, u32, u32)| EventStats {
        event_id: e,
        name: name.to_owned(),
        capacity,
        sold: figures.0,
        held: figures.1,
        booked_since: figures.2,
        cancelled: figures.3,
        waitlist_count: figures.4,
    };
    let one = stats(e1.id, "One", 10, (8, 1, 5, 1, 0));
    let two = stats(e2.id, "Two", 5, (2, 0, 2, 5, 1));
    let three = stats(e3.id, "Three", 1, (0, 0, 0, 0, 0));
    let sorted = |organizer: Option<UserId>, since| {
        let stores = stores.clone();
        async move {
            let mut all = stores
                .analytics
                .event_stats(organizer, since)
                .await
                .expect("event stats");
            all.sort_by_key(|s| s.event_id);
            all
        }
    };
    let mut want = vec![one.clone(), two.clone()];
    want.sort_by_key(|s| s.event_id);
    assert_eq!(
        sorted(Some(o1.id), since).await,
        want,
        "one organizer's events"
    );
    assert_eq!(
        sorted(Some(o2.id), since).await,
        std::slice::from_ref(&three)
    );
    let mut everything = vec![one.clone(), two.clone(), three];
    everything.sort_by_key(|s| s.event_id);
    assert_eq!(sorted(None, since).await, everything, "every event");
    let from_start: Vec<_> = sorted(Some(o1.id), t)
        .await
        .into_iter()
        .map(|s| (s.event_id, s.booked_since))
        .collect();
    let mut want_from_start = vec![(e1.id, 8), (e2.id, 2)];
    want_from_start.sort();
    assert_eq!(from_start, want_from_start, "since the first booking");
    let nobody = attendee(&stores).await;
    assert!(sorted(Some(nobody.id), t).await.is_empty());
}
