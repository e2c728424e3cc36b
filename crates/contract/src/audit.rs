//! Contract of [`AuditLog`](boxoffice_domain::ports::AuditLog).

use crate::Stores;
use crate::fixtures::now;
use boxoffice_domain::audit::{AuditAction, AuditEntry, AuditFilter};
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::time::to_store_precision;
use boxoffice_domain::{EventId, UserId};
use chrono::Duration;

/// Entries come back as stored, newest first, filtered by user (actor or subject),
/// action and time, in pages that continue where the last one ended.
pub async fn entries_filter_and_page_newest_first(stores: Stores) {
    let (ann, bob) = (UserId::generate(), UserId::generate());
    let start = to_store_precision(now());
    let mut made = Vec::new();
    for (i, (action, actor, user)) in [
        (AuditAction::LoginSucceeded, Some(ann), Some(ann)),
        (AuditAction::LoginFailed, None, Some(bob)),
        (AuditAction::RoleChanged, Some(bob), Some(ann)),
        (AuditAction::EventCancelled, Some(bob), None),
        (AuditAction::LoginSucceeded, Some(bob), Some(bob)),
    ]
    .into_iter()
    .enumerate()
    {
        let entry = AuditEntry {
            id: uuid::Uuid::now_v7(),
            at: start + Duration::seconds(i64::try_from(i).expect("small")),
            action,
            actor_id: actor,
            user_id: user,
            event_id: (action == AuditAction::EventCancelled).then(EventId::generate),
            request_id: Some(format!("req-{i}")),
        };
        stores.audit.record(&entry).await.expect("record");
        made.push(entry);
    }
    let read = |filter: AuditFilter, limit: u32, after| {
        let stores = stores.clone();
        async move {
            stores
                .audit
                .entries(&filter, &PageRequest { limit, after })
                .await
                .expect("entries")
        }
    };
    let everything = read(AuditFilter::default(), 100, None).await;
    let newest_first: Vec<_> = made.iter().rev().cloned().collect();
    assert_eq!(everything.items, newest_first);
    assert_eq!(everything.next, None);

    let first = read(AuditFilter::default(), 2, None).await;
    assert_eq!(first.items, newest_first[..2]);
    let second = read(AuditFilter::default(), 2, first.next).await;
    assert_eq!(second.items, newest_first[2..4]);

    let of_ann = AuditFilter {
        user: Some(ann),
        ..AuditFilter::default()
    };
    let ids = |entries: &[AuditEntry]| entries.iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(&read(of_ann, 100, None).await.items),
        [made[2].id, made[0].id],
        "as actor or as subject"
    );
    let logins = AuditFilter {
        action: Some(AuditAction::LoginSucceeded),
        ..AuditFilter::default()
    };
    assert_eq!(
        ids(&read(logins, 100, None).await.items),
        [made[4].id, made[0].id]
    );
    let window = AuditFilter {
        from: Some(start + Duration::seconds(1)),
        to: Some(start + Duration::seconds(3)),
        ..AuditFilter::default()
    };
    assert_eq!(
        ids(&read(window, 100, None).await.items),
        [made[2].id, made[1].id]
    );
}
