use async_trait::async_trait;

/// Something the service needs to be up: answers when it is reachable.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    /// A short name for logs and the readiness answer (`database`, `redis`).
    fn name(&self) -> &'static str;

    /// Succeeds when the dependency answers.
    /// # Errors
    /// Why it does not.
    async fn ping(&self) -> anyhow::Result<()>;

    /// Its connection pool's figures, when it has one.
    fn pool(&self) -> Option<PoolStats> {
        None
    }
}

/// How a connection pool is used right now, for gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections the pool may open.
    pub max: usize,
    /// Connections lent out.
    pub in_use: usize,
    /// Connections open and free.
    pub idle: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}
