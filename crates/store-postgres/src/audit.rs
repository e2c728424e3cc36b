//! [`AuditLog`] over the `audit_log` table.

use crate::PgStore;
use crate::schema::audit_log;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::audit::{AuditEntry, AuditFilter};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::ports::AuditLog;
use boxoffice_domain::{EventId, Timestamp, UserId};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
struct AuditRow {
    id: Uuid,
    at: Timestamp,
    action: String,
    actor_id: Option<Uuid>,
    user_id: Option<Uuid>,
    event_id: Option<Uuid>,
    request_id: Option<String>,
}

impl AuditRow {
    fn into_entry(self) -> anyhow::Result<AuditEntry> {
        Ok(AuditEntry {
            id: self.id,
            at: self.at,
            action: self.action.parse().map_err(anyhow::Error::msg)?,
            actor_id: self.actor_id.map(UserId::from_uuid),
            user_id: self.user_id.map(UserId::from_uuid),
            event_id: self.event_id.map(EventId::from_uuid),
            request_id: self.request_id,
        })
    }
}

#[async_trait]
impl AuditLog for PgStore {
    async fn record(&self, entry: &AuditEntry) -> anyhow::Result<()> {
        let row = AuditRow {
            id: entry.id,
            at: entry.at,
            action: entry.action.as_str().to_owned(),
            actor_id: entry.actor_id.map(|id| id.as_uuid()),
            user_id: entry.user_id.map(|id| id.as_uuid()),
            event_id: entry.event_id.map(|id| id.as_uuid()),
            request_id: entry.request_id.clone(),
        };
        self.run(async |conn| {
            diesel::insert_into(audit_log::table)
                .values(&row)
                .execute(conn)
                .await
                .context("cannot record an audit entry")
        })
        .await?;
        Ok(())
    }

    async fn entries(
        &self,
        filter: &AuditFilter,
        page: &PageRequest<Uuid>,
    ) -> anyhow::Result<Page<AuditEntry, Uuid>> {
        let mut query = audit_log::table
            .select(AuditRow::as_select())
            .order(audit_log::id.desc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(user) = filter.user {
            let user = user.as_uuid();
            query = query.filter(audit_log::user_id.eq(user).or(audit_log::actor_id.eq(user)));
        }
        if let Some(action) = filter.action {
            query = query.filter(audit_log::action.eq(action.as_str()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_log::at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_log::at.lt(to));
        }
        if let Some(after) = page.after {
            query = query.filter(audit_log::id.lt(after));
        }
        let rows = self
            .run(async |conn| query.load(conn).await.context("cannot read the audit log"))
            .await?;
        let page = Page::from_rows(rows, page.limit, |row: &AuditRow| row.id);
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(AuditRow::into_entry)
                .collect::<anyhow::Result<_>>()?,
            next: page.next,
        })
    }
}
