//! The [`Devices`] extractor: the signed-in devices of the request's user.

use std::fmt;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::core::error::LoginError;
use crate::core::state::RequestState;
use crate::devices::hook::{RequestDevices, ServerSide};
use crate::devices::registry::{Device, ErasedRegistry};
use crate::responses::{failure, wants_json};

/// The signed-in devices of the request's user, for pages such as "your devices": list them,
/// log out one, or all others. Needs [`LoginManager::device_registry`](crate::LoginManager::device_registry).
///
/// Only devices whose login can still be valid are listed and counted: a login that a
/// password change ended (its session hash no longer matches) is not, and its entry is
/// removed when it is found.
///
/// ```
/// use actix_web::HttpResponse;
/// use login_runtime::Devices;
///
/// async fn log_out_other_devices(devices: Devices) -> actix_web::Result<HttpResponse> {
///     let revoked = devices.revoke_others().await?;
///     Ok(HttpResponse::Ok().body(format!("{revoked} other devices logged out")))
/// }
/// # let _ = actix_web::web::post().to(log_out_other_devices);
/// ```
pub struct Devices {
    req: HttpRequest,
    state: Rc<RequestState>,
    side: ServerSide,
    registry: Rc<dyn ErasedRegistry>,
    user_id: Option<String>,
}

impl fmt::Debug for Devices {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Devices")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl FromRequest for Devices {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = RequestState::of(&req).map_err(|error| failure(&req, error))?;
            let side = state
                .config()
                .hook::<ServerSide>()
                .filter(|side| side.registry.is_some())
                .cloned()
                .ok_or_else(|| failure(&req, LoginError::NoDeviceRegistry))?;
            let registry = side
                .registry
                .clone()
                .ok_or_else(|| failure(&req, LoginError::NoDeviceRegistry))?;
            let current = state
                .current(&req)
                .await
                .map_err(|error| failure(&req, error))?;
            Ok(Devices {
                req,
                state,
                side,
                registry,
                user_id: current.map(|current| current.id),
            })
        })
    }
}

impl Devices {
    /// The id of this request's device, if it is logged in through a session or a remember
    /// cookie.
    pub fn current(&self) -> Option<String> {
        RequestDevices::current(&self.req, &self.side)
    }

    /// Whether `device` belongs to a login that can still be valid: made before no password
    /// change of its user (its session tag matches the user's, compared in constant time).
    fn still_valid(&self, device: &Device) -> bool {
        device.session_tag.is_none()
            || self
                .state
                .session_tag_matches(device.session_tag.as_deref())
    }

    /// `error`, with what the request prefers noted for its response.
    fn noted(&self, error: impl Into<LoginError>) -> LoginError {
        self.state
            .noting_preference(wants_json(&self.req), error.into())
    }

    /// The logged-in user's devices (none for an anonymous request), oldest first.
    pub async fn list(&self) -> Result<Vec<Device>, LoginError> {
        let Some(user_id) = &self.user_id else {
            return Ok(Vec::new());
        };
        let (mut valid, stale): (Vec<Device>, Vec<Device>) = self
            .registry
            .devices(user_id)
            .await
            .map_err(|error| self.noted(error))?
            .into_iter()
            .partition(|device| self.still_valid(device));
        // Entries of logins a password change ended: nobody can use them any more.
        for device in stale {
            self.registry
                .revoke(user_id, &device.id)
                .await
                .map_err(|error| self.noted(error))?;
        }
        valid.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(valid)
    }

    /// Logs out one of the user's devices: its sessions and its remember cookie stop working
    /// on every instance. `false` if the user has no such device (or only one whose login a
    /// password change already ended). Revoking this request's own device logs this request
    /// out too.
    pub async fn revoke(&self, device_id: &str) -> Result<bool, LoginError> {
        let Some(user_id) = &self.user_id else {
            return Ok(false);
        };
        let valid = self
            .registry
            .device(device_id)
            .await
            .map_err(|error| self.noted(error))?
            .is_some_and(|device| device.user_id == *user_id && self.still_valid(&device));
        let revoked = self
            .registry
            .revoke(user_id, device_id)
            .await
            .map_err(|error| self.noted(error))?
            && valid;
        if self.current().as_deref() == Some(device_id) {
            self.state
                .logout(&self.req)
                .map_err(|error| self.noted(error))?;
        }
        Ok(revoked)
    }

    /// Logs out every other device of the user ("log out my other devices"); this one stays.
    /// Returns how many were logged out.
    pub async fn revoke_others(&self) -> Result<usize, LoginError> {
        let Some(user_id) = &self.user_id else {
            return Ok(0);
        };
        let current = self.current();
        let others = self
            .list()
            .await
            .map_err(|error| self.noted(error))?
            .iter()
            .filter(|device| Some(&device.id) != current.as_ref())
            .count();
        self.registry
            .revoke_all(user_id, current.as_deref())
            .await
            .map_err(|error| self.noted(error))?;
        Ok(others)
    }

    /// Logs out every device of the user, this one included ("log out everywhere"), without
    /// a password change. Returns how many devices were logged out.
    pub async fn revoke_all(&self) -> Result<usize, LoginError> {
        let Some(user_id) = &self.user_id else {
            return Ok(0);
        };
        let signed_in = self.list().await.map_err(|error| self.noted(error))?.len();
        self.registry
            .revoke_all(user_id, None)
            .await
            .map_err(|error| self.noted(error))?;
        self.state
            .logout(&self.req)
            .map_err(|error| self.noted(error))?;
        Ok(signed_in)
    }
}
