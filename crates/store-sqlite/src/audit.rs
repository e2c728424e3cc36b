//! [`AuditLog`] over the `audit_log` table.

use crate::SqliteStore;
use crate::convert::{instant, micros, uuid};
use crate::schema::audit_log;
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::audit::{AuditEntry, AuditFilter};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::ports::AuditLog;
use boxoffice_domain::{EventId, UserId};
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::sqlite::Sqlite))]
struct AuditRow {
    id: String,
    at: i64,
    action: String,
    actor_id: Option<String>,
    user_id: Option<String>,
    event_id: Option<String>,
    request_id: Option<String>,
}

impl AuditRow {
    fn into_entry(self) -> anyhow::Result<AuditEntry> {
        let id = |text: Option<String>| text.map(|t| uuid(&t)).transpose();
        Ok(AuditEntry {
            id: uuid(&self.id)?,
            at: instant(self.at)?,
            action: self.action.parse().map_err(anyhow::Error::msg)?,
            actor_id: id(self.actor_id)?.map(UserId::from_uuid),
            user_id: id(self.user_id)?.map(UserId::from_uuid),
            event_id: id(self.event_id)?.map(EventId::from_uuid),
            request_id: self.request_id,
        })
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn record(&self, entry: &AuditEntry) -> anyhow::Result<()> {
        let row = AuditRow {
            id: entry.id.to_string(),
            at: micros(entry.at),
            action: entry.action.as_str().to_owned(),
            actor_id: entry.actor_id.map(|id| id.to_string()),
            user_id: entry.user_id.map(|id| id.to_string()),
            event_id: entry.event_id.map(|id| id.to_string()),
            request_id: entry.request_id.clone(),
        };
        self.write(move |c| {
            diesel::insert_into(audit_log::table)
                .values(&row)
                .execute(c)
                .context("cannot record an audit entry")
        })
        .await?;
        Ok(())
    }

    async fn entries(
        &self,
        filter: &AuditFilter,
        page: &PageRequest<uuid::Uuid>,
    ) -> anyhow::Result<Page<AuditEntry, uuid::Uuid>> {
        let (filter, page) = (filter.clone(), page.clone());
        self.read(move |c| {
            let mut query = audit_log::table
                .select(AuditRow::as_select())
                .order(audit_log::id.desc())
                .limit(i64::from(page.limit) + 1)
                .into_boxed();
            if let Some(user) = filter.user {
                let user = user.to_string();
                query = query.filter(
                    audit_log::user_id
                        .eq(user.clone())
                        .or(audit_log::actor_id.eq(user)),
                );
            }
            if let Some(action) = filter.action {
                query = query.filter(audit_log::action.eq(action.as_str()));
            }
            if let Some(from) = filter.from {
                query = query.filter(audit_log::at.ge(micros(from)));
            }
            if let Some(to) = filter.to {
                query = query.filter(audit_log::at.lt(micros(to)));
            }
            if let Some(after) = page.after {
                query = query.filter(audit_log::id.lt(after.to_string()));
            }
            let rows: Vec<AuditRow> = query.load(c).context("cannot read the audit log")?;
            let page = Page::from_rows(rows, page.limit, |row: &AuditRow| {
                uuid(&row.id).unwrap_or_default()
            });
            Ok(Page {
                items: page
                    .items
                    .into_iter()
                    .map(AuditRow::into_entry)
                    .collect::<anyhow::Result<_>>()?,
                next: page.next,
            })
        })
        .await
    }
}
