//! What the registry keeps of a login ([`Device`]), and the store trait ([`DeviceRegistry`]).

use std::future::Future;
use std::time::SystemTime;

use actix_web::HttpRequest;
use actix_web::http::header;
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::client::{ClientAddress, ProxyTrust};
use crate::core::error::DeviceError;

/// The longest User-Agent summary kept in a device entry.
const USER_AGENT_SUMMARY_LEN: usize = 160;

/// One login, as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Device {
    /// The device id: 32 random lowercase hex digits.
    pub id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// When the login was made with credentials.
    pub created: SystemTime,
    /// When a request of this login was last seen (updated at most once a minute, or a
    /// quarter of the idle timeout if that is shorter).
    pub last_seen: SystemTime,
    /// The client's address at login (the socket's, or the proxy headers' with
    /// [`trusted_proxies`](crate::LoginManager::trusted_proxies)), without a port.
    pub address: Option<String>,
    /// The client's User-Agent at login, cut to 160 characters.
    pub user_agent: Option<String>,
    /// The keyed tag of the user's session hash when the login was made (opaque; `None` for
    /// a login that is not bound to it, such as a Flask-format remember cookie's). A device
    /// whose tag no longer matches the user's belongs to a login that a password change
    /// ended: it is neither listed nor counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_tag: Option<String>,
}

impl Device {
    /// A new device of `user_id`, created and last seen `now`.
    pub fn new(user_id: impl Into<String>, now: SystemTime) -> Device {
        let bytes: [u8; 16] = rand::random();
        Device {
            id: hex::encode(bytes),
            user_id: user_id.into(),
            created: now,
            last_seen: now,
            address: None,
            user_agent: None,
            session_tag: None,
        }
    }

    /// The client's address and User-Agent summary, taken from `req`.
    pub fn with_client(mut self, req: &HttpRequest, trust_proxy_headers: bool) -> Device {
        // The same rule as session protection's: the socket's address, or the proxy's
        // header when trusted, never with a port.
        let trust = if trust_proxy_headers {
            ProxyTrust::Everyone
        } else {
            ProxyTrust::Nobody
        };
        self.address = ClientAddress::of(req, &trust).to_text();
        self.with_user_agent(req)
    }

    /// The client's User-Agent summary, taken from `req`.
    pub(crate) fn with_user_agent(mut self, req: &HttpRequest) -> Device {
        self.user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .map(|agent| agent.chars().take(USER_AGENT_SUMMARY_LEN).collect());
        self
    }
}

/// Where devices are kept: [`MemoryDevices`](crate::MemoryDevices) for tests and one process, `RedisDevices`
/// (feature `redis`) for several servers.
///
/// Implementations must make [`revoke`](Self::revoke) final: once it returned, [`device`]
/// must never find that device again, even if a [`touch`](Self::touch) was in flight.
///
/// [`device`]: Self::device
pub trait DeviceRegistry: 'static {
    /// Records a new device.
    fn record(&self, device: &Device) -> impl Future<Output = Result<(), DeviceError>>;

    /// The device with this id, if it was recorded and not revoked (or expired).
    fn device(&self, device_id: &str) -> impl Future<Output = Result<Option<Device>, DeviceError>>;

    /// Sets the device's `last_seen`; does nothing for a device that is gone.
    fn touch(
        &self,
        device_id: &str,
        at: SystemTime,
    ) -> impl Future<Output = Result<(), DeviceError>>;

    /// The user's devices that are still valid.
    fn devices(&self, user_id: &str) -> impl Future<Output = Result<Vec<Device>, DeviceError>>;

    /// Revokes one of the user's devices; `false` if the user has no such device.
    fn revoke(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> impl Future<Output = Result<bool, DeviceError>>;

    /// Revokes all of the user's devices but `except`; returns how many were revoked.
    fn revoke_all(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> impl Future<Output = Result<usize, DeviceError>>;
}

/// [`DeviceRegistry`] with boxed futures, so `LoginManager` can hold any registry.
pub(crate) trait ErasedRegistry {
    fn record<'a>(&'a self, device: &'a Device) -> LocalBoxFuture<'a, Result<(), DeviceError>>;
    fn device<'a>(&'a self, id: &'a str)
    -> LocalBoxFuture<'a, Result<Option<Device>, DeviceError>>;
    fn touch<'a>(
        &'a self,
        id: &'a str,
        at: SystemTime,
    ) -> LocalBoxFuture<'a, Result<(), DeviceError>>;
    fn devices<'a>(&'a self, user: &'a str)
    -> LocalBoxFuture<'a, Result<Vec<Device>, DeviceError>>;
    fn revoke<'a>(
        &'a self,
        user: &'a str,
        id: &'a str,
    ) -> LocalBoxFuture<'a, Result<bool, DeviceError>>;
    fn revoke_all<'a>(
        &'a self,
        user: &'a str,
        except: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<usize, DeviceError>>;
}

impl<R: DeviceRegistry> ErasedRegistry for R {
    fn record<'a>(&'a self, device: &'a Device) -> LocalBoxFuture<'a, Result<(), DeviceError>> {
        Box::pin(DeviceRegistry::record(self, device))
    }
    fn device<'a>(
        &'a self,
        id: &'a str,
    ) -> LocalBoxFuture<'a, Result<Option<Device>, DeviceError>> {
        Box::pin(DeviceRegistry::device(self, id))
    }
    fn touch<'a>(
        &'a self,
        id: &'a str,
        at: SystemTime,
    ) -> LocalBoxFuture<'a, Result<(), DeviceError>> {
        Box::pin(DeviceRegistry::touch(self, id, at))
    }
    fn devices<'a>(
        &'a self,
        user: &'a str,
    ) -> LocalBoxFuture<'a, Result<Vec<Device>, DeviceError>> {
        Box::pin(DeviceRegistry::devices(self, user))
    }
    fn revoke<'a>(
        &'a self,
        user: &'a str,
        id: &'a str,
    ) -> LocalBoxFuture<'a, Result<bool, DeviceError>> {
        Box::pin(DeviceRegistry::revoke(self, user, id))
    }
    fn revoke_all<'a>(
        &'a self,
        user: &'a str,
        except: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<usize, DeviceError>> {
        Box::pin(DeviceRegistry::revoke_all(self, user, except))
    }
}
