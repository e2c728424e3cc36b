//! Multi-process end-to-end tests: three `boxoffice serve` processes share one Postgres
//! database and one private Redis, as in production behind a load balancer, and the
//! contract's invariants must hold across them (invariant 5), also while Redis is
//! flushed or restarted and while a server is killed. Each test owns its database and
//! its Redis, so tests run in parallel without disturbing each other.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

mod check_ins;
mod expiry;
mod faults;
mod idempotency;
mod mixed;
mod queue;
mod reads;
mod stream;
mod support;
