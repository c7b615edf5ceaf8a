//! Devices and timeouts: every login as a server-side entry that logout, "log out my other
//! devices" and inactivity can end on every instance at once.
//!
//! With a [`DeviceRegistry`] configured ([`LoginManager::device_registry`]), each login gets a
//! random device id, kept in the session and signed into its remember cookie, and recorded in
//! the registry with when it was created and last seen, the client's address and a User-Agent
//! summary. Every request that finds a login in its session or its remember cookie asks the
//! registry whether that device is still there: a device that was revoked (logout, a revoke
//! from another device, a timeout) makes the request anonymous and its login keys are
//! removed, whatever copy of the session or cookie it came with. That is what makes a logout
//! hold while other requests of the same browser are still in flight on other instances.
//!
//! Timeouts ([`LoginManager::idle_timeout`], [`LoginManager::login_lifetime`]) are enforced on
//! the server from times stored in the session (and, with a registry, in the device entry):
//! the client cannot extend them.
//!
//! Without a registry and without timeouts, nothing here runs and nothing is stored.
//!
//! [`LoginManager::device_registry`]: crate::LoginManager::device_registry
//! [`LoginManager::idle_timeout`]: crate::LoginManager::idle_timeout
//! [`LoginManager::login_lifetime`]: crate::LoginManager::login_lifetime
//!
//! - [`registry`]: what a device is and the store trait; [`memory`] and `redis` (feature
//!   `redis`): the stores; [`conformance`]: the suite every store passes.
//! - [`policy`]: the timeouts, pure; [`hook`]: how the feature takes part in every login and
//!   request; [`extractor`]: the [`Devices`] extractor.

pub(crate) mod conformance;
pub(crate) mod extractor;
pub(crate) mod hook;
pub(crate) mod memory;
pub(crate) mod policy;
#[cfg(feature = "redis")]
pub(crate) mod redis;
pub(crate) mod registry;

pub use self::extractor::Devices;
pub use self::memory::MemoryDevices;
#[cfg(feature = "redis")]
pub use self::redis::RedisDevices;
pub use self::registry::{Device, DeviceRegistry};
