//! The version board in Redis, shared by every instance: stores publish the version of
//! each event and account there before committing a change, and every instance checks
//! it before using its copy from memory (docs/performance.md).

use crate::Redis;
use async_trait::async_trait;
use boxoffice_domain::ports::{VersionBoard, VersionKey};
use deadpool_redis::redis::Script;

/// How long a version is kept after its last publication. A version that expired is
/// unknown: the event is read from Postgres until its next change publishes again.
const KEEP_SECS: u64 = 30 * 24 * 3600;

/// Raises the version unless it is already higher (versions never go back), and keeps
/// it for `ARGV[2]` seconds more.
const PUBLISH: &str = r"
local known = tonumber(redis.call('GET', KEYS[1]))
local version = tonumber(ARGV[1])
if known == nil or known < version then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
";

/// [`VersionBoard`] in Redis, under the pool's key prefix: `version:{EVENT}` per event
/// (the event's hash tag, as the seat gate's keys), `user-version:{USER}` per account
/// and `catalog-version`.
#[derive(Clone)]
pub struct RedisVersionBoard {
    redis: Redis,
    publish: Script,
}

impl RedisVersionBoard {
    /// The board in `redis`.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            publish: Script::new(PUBLISH),
        }
    }

    fn key(&self, key: VersionKey) -> String {
        match key {
            VersionKey::Event(id) => self.redis.key(&format!("version:{{{id}}}")),
            VersionKey::User(id) => self.redis.key(&format!("user-version:{{{id}}}")),
            VersionKey::Catalog => self.redis.key("catalog-version"),
        }
    }
}

#[async_trait]
impl VersionBoard for RedisVersionBoard {
    async fn publish(&self, key: VersionKey, version: u64) -> anyhow::Result<()> {
        let key = self.key(key);
        self.redis
            .run("publish a version", async |conn| {
                self.publish
                    .key(&key)
                    .arg(version)
                    .arg(KEEP_SECS)
                    .invoke_async::<i64>(conn)
                    .await
            })
            .await
            .map(drop)
    }

    async fn current(&self, key: VersionKey) -> anyhow::Result<Option<u64>> {
        let key = self.key(key);
        self.redis
            .run("read a version", async |conn| {
                deadpool_redis::redis::cmd("GET")
                    .arg(&key)
                    .query_async::<Option<u64>>(conn)
                    .await
            })
            .await
    }

    async fn current_many(&self, keys: &[VersionKey]) -> anyhow::Result<Vec<Option<u64>>> {
        let keys: Vec<String> = keys.iter().map(|&k| self.key(k)).collect();
        self.redis
            .run("read versions", async |conn| {
                deadpool_redis::redis::cmd("MGET")
                    .arg(&keys)
                    .query_async::<Vec<Option<u64>>>(conn)
                    .await
            })
            .await
    }

    fn lookups_are_remote(&self) -> bool {
        true
    }
}
