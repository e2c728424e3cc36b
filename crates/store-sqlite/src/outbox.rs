//! The outbox table: messages written in the transactions that make the changes, each
//! numbered within its event in the single writer's transaction.

use crate::SqliteStore;
use crate::convert::{instant, micros, uuid};
use crate::schema::{events, outbox};
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::EventId;
use boxoffice_domain::outbox::Message;
use boxoffice_domain::ports::Outbox;
use diesel::prelude::*;

/// The number of event `event`'s last message.
pub(crate) fn last_seq(c: &mut SqliteConnection, event: EventId) -> anyhow::Result<i64> {
    events::table
        .find(event.to_string())
        .select(events::outbox_seq)
        .first(c)
        .with_context(|| format!("cannot read the outbox number of event {event}"))
}

/// Inserts `messages` of `event`, numbered from `first` on in their order. The caller
/// sets the event's `outbox_seq` to the last.
pub(crate) fn insert(
    c: &mut SqliteConnection,
    event: EventId,
    messages: &[Message],
    first: i64,
) -> anyhow::Result<()> {
    let rows = messages
        .iter()
        .zip(first..)
        .map(|(m, seq)| {
            Ok((
                outbox::id.eq(m.id.to_string()),
                outbox::event_id.eq(event.to_string()),
                outbox::seq.eq(seq),
                outbox::kind.eq(m.kind.as_str()),
                outbox::at.eq(micros(m.at)),
                outbox::payload.eq(boxoffice_outbox_json::to_json(&m.payload)?),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for chunk in rows.chunks(1000) {
        diesel::insert_into(outbox::table)
            .values(chunk)
            .execute(c)
            .with_context(|| format!("cannot write the outbox messages of event {event}"))?;
    }
    Ok(())
}

/// Writes `message` as the next of its event's messages, outside a seat batch (the
/// event's creation, a type added).
pub(crate) fn append(c: &mut SqliteConnection, message: &Message) -> anyhow::Result<()> {
    let event = message.event_id;
    let next = last_seq(c, event)? + 1;
    diesel::update(events::table.find(event.to_string()))
        .set(events::outbox_seq.eq(next))
        .execute(c)
        .with_context(|| format!("cannot number a message of event {event}"))?;
    insert(c, event, std::slice::from_ref(message), next)
}

type Row = (String, String, i64, String, i64, String);

fn into_message((id, event, seq, kind, at, payload): Row) -> anyhow::Result<Message> {
    Ok(Message {
        id: uuid(&id)?,
        event_id: EventId::from_uuid(uuid(&event)?),
        seq: u64::try_from(seq).context("negative outbox seq")?,
        kind: kind.parse().map_err(anyhow::Error::msg)?,
        at: instant(at)?,
        payload: boxoffice_outbox_json::from_json(&payload)
            .with_context(|| format!("outbox message {id} has a bad payload"))?,
    })
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn messages_after(
        &self,
        event: EventId,
        after: u64,
        limit: u32,
    ) -> anyhow::Result<Vec<Message>> {
        let after = i64::try_from(after).context("seq too large")?;
        let rows: Vec<Row> = self
            .read(move |c| {
                outbox::table
                    .filter(outbox::event_id.eq(event.to_string()))
                    .filter(outbox::seq.gt(after))
                    .order(outbox::seq)
                    .limit(i64::from(limit))
                    .select((
                        outbox::id,
                        outbox::event_id,
                        outbox::seq,
                        outbox::kind,
                        outbox::at,
                        outbox::payload,
                    ))
                    .load(c)
                    .context("cannot read the outbox")
            })
            .await?;
        rows.into_iter().map(into_message).collect()
    }
}
