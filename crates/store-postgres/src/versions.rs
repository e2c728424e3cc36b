//! Event versions: every transaction that changes what reading an event shows bumps the
//! event's `version` and publishes it to the version board (Redis, shared by every
//! instance) *before* it commits, so that once the change is answered every instance
//! finds the new version and stops serving its older copy (docs/performance.md).

use crate::schema::events;
use anyhow::Context as _;
use boxoffice_domain::EventId;
use boxoffice_domain::ports::{VersionBoard, VersionKey};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use std::sync::Arc;

/// Where seat transactions publish event versions; without a board, nothing is
/// published and no instance may serve events from memory.
#[derive(Clone, Default)]
pub(crate) struct Publisher(Option<Arc<dyn VersionBoard>>);

impl Publisher {
    pub(crate) fn to(board: Arc<dyn VersionBoard>) -> Self {
        Self(Some(board))
    }

    /// Publishes `version` of event `id`. The caller's transaction has not committed
    /// yet: when this fails, the caller fails and the change rolls back.
    pub(crate) async fn publish(&self, id: EventId, version: i64) -> anyhow::Result<()> {
        if let Some(board) = &self.0 {
            board
                .publish(VersionKey::Event(id), u64::try_from(version)?)
                .await
                .with_context(|| format!("cannot publish version {version} of event {id}"))?;
        }
        Ok(())
    }

    /// Bumps the version of event `id` inside the caller's transaction and publishes it.
    pub(crate) async fn bump(
        &self,
        conn: &mut AsyncPgConnection,
        id: EventId,
    ) -> anyhow::Result<()> {
        let version: i64 = diesel::update(events::table.find(id.as_uuid()))
            .set(events::version.eq(events::version + 1))
            .returning(events::version)
            .get_result(conn)
            .await
            .with_context(|| format!("cannot bump the version of event {id}"))?;
        self.publish(id, version).await
    }
}
