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
}
