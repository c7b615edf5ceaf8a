//! [`StoreError`]: what every store here reports, and how it reaches login-runtime and
//! actix-session.

use std::time::Duration;

use login_runtime::DeviceError;

/// A store could not answer. Never names a session key, a password or a connection secret:
/// the message is the database's or Redis's own, which holds none of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database or Redis failed, or could not be reached.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The database or Redis did not answer in time.
    #[error("the store did not answer within {0:?}")]
    Timeout(Duration),
    /// What the store holds does not parse (a row or key written by something else).
    #[error("the store holds data that does not parse: {0}")]
    Corrupt(String),
}

impl From<StoreError> for DeviceError {
    fn from(error: StoreError) -> DeviceError {
        match error {
            StoreError::Timeout(after) => DeviceError::Timeout(after),
            other => DeviceError::Unavailable(other.to_string()),
        }
    }
}

/// Runs `work`, failing with [`StoreError::Timeout`] when it takes longer than `limit`.
pub(crate) async fn within<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    actix_web::rt::time::timeout(limit, work)
        .await
        .map_err(|_| StoreError::Timeout(limit))?
}
