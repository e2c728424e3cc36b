//! The outbox table: messages written in the transactions that make the changes, each
//! numbered within its event under the event's row lock.

use crate::PgStore;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::outbox::Message;
use boxoffice_domain::ports::Outbox;
use boxoffice_domain::{EventId, Timestamp};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Inserts messages of event `$2`, one per array element: id, seq, type, time, payload.
const INSERT: &str = "
    INSERT INTO outbox (id, event_id, seq, type, at, payload)
    SELECT id, $2, seq, type, at, payload::jsonb
      FROM unnest($1::uuid[], $3::int8[], $4::text[], $5::timestamptz[], $6::text[])
           AS v(id, seq, type, at, payload)";

/// Gives the next number of event `$1`'s messages.
const NEXT_SEQ: &str =
    "UPDATE events SET outbox_seq = outbox_seq + 1 WHERE id = $1 RETURNING outbox_seq";

/// The messages of event `$1` numbered above `$2`, at most `$3`.
const AFTER: &str = "
    SELECT id, event_id, seq, type, at, payload::text AS payload FROM outbox
     WHERE event_id = $1 AND seq > $2 ORDER BY seq LIMIT $3";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    event_id: Uuid,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = Timestamptz)]
    at: Timestamp,
    #[diesel(sql_type = Text)]
    payload: String,
}

impl Row {
    fn into_message(self) -> anyhow::Result<Message> {
        Ok(Message {
            id: self.id,
            event_id: EventId::from_uuid(self.event_id),
            seq: u64::try_from(self.seq).context("negative outbox seq")?,
            kind: self.r#type.parse().map_err(anyhow::Error::msg)?,
            at: self.at,
            payload: boxoffice_outbox_json::from_json(&self.payload)
                .with_context(|| format!("outbox message {} has a bad payload", self.id))?,
        })
    }
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    outbox_seq: i64,
}

/// Inserts `messages` of `event`, numbered from `first` on in their order (none: no
/// statement). The caller holds the event's lock and sets its `outbox_seq` to the last.
pub(crate) async fn insert(
    mut conn: &AsyncPgConnection,
    event: EventId,
    messages: &[Message],
    first: i64,
) -> anyhow::Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let payloads = messages
        .iter()
        .map(|m| boxoffice_outbox_json::to_json(&m.payload))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let seqs: Vec<i64> = (first..).take(messages.len()).collect();
    diesel::sql_query(INSERT)
        .bind::<Array<SqlUuid>, _>(messages.iter().map(|m| m.id).collect::<Vec<_>>())
        .bind::<SqlUuid, _>(event.as_uuid())
        .bind::<Array<BigInt>, _>(seqs)
        .bind::<Array<Text>, _>(messages.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(messages.iter().map(|m| m.at).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(payloads)
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot write the outbox messages of event {event}"))?;
    Ok(())
}

/// Writes `message` as the next of its event's messages, outside a seat batch (the
/// event's creation, a type added): the update takes the event's row lock.
pub(crate) async fn append(conn: &mut AsyncPgConnection, message: &Message) -> anyhow::Result<()> {
    let event = message.event_id;
    let next = diesel::sql_query(NEXT_SEQ)
        .bind::<SqlUuid, _>(event.as_uuid())
        .get_result::<Seq>(conn)
        .await
        .with_context(|| format!("cannot number a message of event {event}"))?;
    insert(conn, event, std::slice::from_ref(message), next.outbox_seq).await
}

#[async_trait]
impl Outbox for PgStore {
    async fn messages_after(
        &self,
        event: EventId,
        after: u64,
        limit: u32,
    ) -> anyhow::Result<Vec<Message>> {
        let after = i64::try_from(after).context("seq too large")?;
        let rows = self
            .run(async |conn| {
                diesel::sql_query(AFTER)
                    .bind::<SqlUuid, _>(event.as_uuid())
                    .bind::<BigInt, _>(after)
                    .bind::<BigInt, _>(i64::from(limit))
                    .load::<Row>(conn)
                    .await
                    .map_err(Into::into)
            })
            .await
            .with_context(|| format!("cannot read the outbox of event {event}"))?;
        rows.into_iter().map(Row::into_message).collect()
    }
}
