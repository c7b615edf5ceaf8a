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

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use crate::error::LoginError;
use crate::remember::{RememberFormat, RememberToken};
use crate::state::{CookieAction, RequestState, USER_ID, put, read};

/// Session key: the device id of the session's login.
pub(crate) const DEVICE: &str = "_device";
/// Session key: when the login was made (milliseconds since the Unix epoch).
pub(crate) const LOGIN_AT: &str = "_login_at";
/// Session key: when the login was last seen (milliseconds since the Unix epoch).
pub(crate) const SEEN: &str = "_seen";

/// "Last seen" is written at most this often, so a busy login does not write its session or
/// its device entry on every request.
const MAX_SEEN_GRANULARITY: Duration = Duration::from_secs(60);

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
    /// [`trust_proxy_headers`](crate::LoginManager::trust_proxy_headers)).
    pub address: Option<String>,
    /// The client's User-Agent at login, cut to 160 characters.
    pub user_agent: Option<String>,
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
        }
    }

    /// The client's address and User-Agent summary, taken from `req`.
    pub fn with_client(mut self, req: &HttpRequest, trust_proxy_headers: bool) -> Device {
        self.address = if trust_proxy_headers {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_owned)
        } else {
            req.peer_addr().map(|addr| addr.ip().to_string())
        };
        self.user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .map(|agent| agent.chars().take(USER_AGENT_SUMMARY_LEN).collect());
        self
    }
}

/// The registry could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The store failed or is unreachable.
    #[error("the device registry is unavailable: {0}")]
    Unavailable(String),
    /// The store did not answer in time.
    #[error("the device registry did not answer within {0:?}")]
    Timeout(Duration),
}

/// Where devices are kept: [`MemoryDevices`] for tests and one process, `RedisDevices`
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

/// The registry and timeouts a `LoginManager` was configured with.
#[derive(Clone, Default)]
pub(crate) struct ServerSide {
    pub(crate) registry: Option<Rc<dyn ErasedRegistry>>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) lifetime: Option<Duration>,
}

impl fmt::Debug for ServerSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSide")
            .field("registry", &self.registry.is_some())
            .field("idle_timeout", &self.idle_timeout)
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl ServerSide {
    fn is_off(&self) -> bool {
        self.registry.is_none() && !self.has_timeouts()
    }

    fn has_timeouts(&self) -> bool {
        self.idle_timeout.is_some() || self.lifetime.is_some()
    }

    /// How stale "last seen" may get before it is written again.
    fn seen_granularity(&self) -> Duration {
        self.idle_timeout
            .map_or(MAX_SEEN_GRANULARITY, |idle| idle / 4)
            .min(MAX_SEEN_GRANULARITY)
    }

    /// Whether a login made at `login_at` and last seen at `seen` has timed out at `now`.
    fn timed_out(&self, login_at: SystemTime, seen: SystemTime, now: SystemTime) -> bool {
        let past = |since: SystemTime, limit: Option<Duration>| {
            limit.is_some_and(|limit| now.duration_since(since).unwrap_or_default() >= limit)
        };
        past(login_at, self.lifetime) || past(seen, self.idle_timeout)
    }
}

/// What a login is stamped with when it is written into the session.
#[derive(Debug, Clone)]
pub(crate) struct Stamp {
    device: Option<String>,
    login_at: SystemTime,
}

enum Pending {
    Record(Device),
    Revoke { user_id: String, device_id: String },
}

/// This request's devices: the device of its login, the one its remember cookie names, and
/// the registry writes to make before the response goes out.
#[derive(Default)]
pub(crate) struct RequestDevices {
    /// The device of this request's login, once known.
    device: RefCell<Option<String>>,
    /// The device the request's remember cookie is bound to.
    cookie_device: RefCell<Option<String>>,
    /// The stamp for a login restored from the remember cookie.
    stamp: RefCell<Option<Stamp>>,
    pending: RefCell<Vec<Pending>>,
}

impl RequestDevices {
    /// The remember cookie's hash-tag field for the login this request just made: its device
    /// id is signed into the cookie along with the tag, so revoking the device revokes every
    /// copy of the cookie.
    pub(crate) fn bind<'a>(&self, tag: Option<&'a str>) -> Option<Cow<'a, str>> {
        bound_tag(self.device.borrow().as_deref(), tag)
    }

    /// The same for a remember cookie signed again (refreshed, or re-signed after a key
    /// rotation): it keeps the device it was bound to.
    pub(crate) fn rebind<'a>(&self, tag: Option<&'a str>) -> Option<Cow<'a, str>> {
        bound_tag(self.cookie_device.borrow().as_deref(), tag)
    }

    /// A verified remember token with the device taken out of its tag field (kept aside), so
    /// the usual checks see the user's hash tag. Only with a registry; otherwise the token is
    /// left as it is (and a device-bound tag then never matches).
    pub(crate) fn unbind(&self, side: &ServerSide, mut token: RememberToken) -> RememberToken {
        if side.registry.is_none() {
            return token;
        }
        let bound = token
            .hash_tag
            .as_deref()
            .and_then(|tag| tag.split_once(BOUND_SEPARATOR))
            .filter(|(device, _)| is_device_id(device))
            .map(|(device, tag)| (device.to_owned(), (!tag.is_empty()).then(|| tag.to_owned())));
        if let Some((device, tag)) = bound {
            token.hash_tag = tag;
            *self.cookie_device.borrow_mut() = Some(device);
        }
        token
    }

    /// The stamp of a login restored from the remember cookie in this request.
    pub(crate) fn take_stamp(&self) -> Option<Stamp> {
        self.stamp.borrow_mut().take()
    }
}

/// Separates the device id from the hash tag in a bound remember cookie's tag field.
const BOUND_SEPARATOR: char = '!';

fn bound_tag<'a>(device: Option<&str>, tag: Option<&'a str>) -> Option<Cow<'a, str>> {
    match device {
        Some(device) => Some(Cow::Owned(format!(
            "{device}{BOUND_SEPARATOR}{}",
            tag.unwrap_or_default()
        ))),
        None => tag.map(Cow::Borrowed),
    }
}

fn is_device_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

fn from_millis(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// A new login of `user_id`: with a registry, a new device (recorded before the response
/// goes out); the stamp to write into the session. `None` when nothing is configured.
pub(crate) fn on_login(state: &RequestState, req: &HttpRequest, user_id: &str) -> Option<Stamp> {
    let config = state.config();
    let side = &config.server_side;
    if side.is_off() {
        return None;
    }
    let now = SystemTime::now();
    let device = side.registry.as_ref().map(|_| {
        let mut pending = state.devices.pending.borrow_mut();
        // A new login replaces the one this session held: that device ends with it, so no
        // copy of the old session or its remember cookie outlives it.
        if let Ok(session) = state.session(req)
            && let (Some(user_id), Some(device_id)) = (
                read::<String>(&session, USER_ID),
                read::<String>(&session, DEVICE),
            )
        {
            pending.push(Pending::Revoke { user_id, device_id });
        }
        let device = Device::new(user_id, now).with_client(req, config.trust_proxy_headers);
        let id = device.id.clone();
        pending.push(Pending::Record(device));
        id
    });
    state.devices.device.replace(device.clone());
    Some(Stamp {
        device,
        login_at: now,
    })
}

/// Writes a login's stamp into the session: its device, and its times when timeouts are set.
pub(crate) fn write_stamp(
    session: &Session,
    side: &ServerSide,
    stamp: &Stamp,
) -> Result<(), LoginError> {
    if let Some(device) = &stamp.device {
        put(session, DEVICE, device)?;
    }
    if side.has_timeouts() {
        put(session, LOGIN_AT, millis(stamp.login_at))?;
        put(session, SEEN, millis(SystemTime::now()))?;
    }
    Ok(())
}

/// Logout: with a registry, the session's device and the one the remember cookie names are
/// revoked before the response goes out, so no copy of either logs in again.
pub(crate) fn on_logout(
    state: &RequestState,
    req: &HttpRequest,
    session: &Session,
    user_id: Option<&str>,
) {
    let config = state.config();
    if config.server_side.registry.is_none() {
        return;
    }
    let cookie_user = state.remember_token(req).map(|token| token.user_id.clone());
    let mut pending = state.devices.pending.borrow_mut();
    if let (Some(user_id), Some(device_id)) = (user_id, read::<String>(session, DEVICE)) {
        pending.push(Pending::Revoke {
            user_id: user_id.to_owned(),
            device_id,
        });
    }
    if let (Some(user_id), Some(device_id)) = (cookie_user, state.devices.cookie_device.take()) {
        pending.push(Pending::Revoke { user_id, device_id });
    }
}

/// Checks the session's login against the registry and the timeouts; a login that is over
/// (device revoked, idle too long, past its lifetime) is removed and its remember cookie
/// cleared. Refreshes "last seen" when it is older than the granularity.
pub(crate) async fn check_session(
    state: &RequestState,
    session: &Session,
) -> Result<(), LoginError> {
    let side = &state.config().server_side;
    if side.is_off() {
        return Ok(());
    }
    let Some(user_id) = read::<String>(session, USER_ID) else {
        return Ok(());
    };
    let now = SystemTime::now();
    let device_id = read::<String>(session, DEVICE);
    let mut over = false;
    if side.has_timeouts() {
        match (read::<u64>(session, LOGIN_AT), read::<u64>(session, SEEN)) {
            (Some(login_at), Some(seen)) => {
                // Security: timeouts are checked on the server, from times the client
                // cannot change.
                over = side.timed_out(from_millis(login_at), from_millis(seen), now);
                if !over
                    && now.duration_since(from_millis(seen)).unwrap_or_default()
                        >= side.seen_granularity()
                {
                    put(session, SEEN, millis(now))?;
                }
            }
            // A login without times cannot prove it is still within them.
            _ => over = true,
        }
    }
    if let Some(registry) = &side.registry
        && !over
    {
        let made_here = device_id.is_some() && *state.devices.device.borrow() == device_id;
        if !made_here {
            // Security: a login whose device was revoked is over, on every instance and in
            // every copy of the session, whatever requests were in flight when it was revoked.
            let device = match &device_id {
                Some(id) => registry.device(id).await?,
                None => None,
            };
            match device {
                Some(device) if device.user_id == user_id => {
                    if now.duration_since(device.last_seen).unwrap_or_default()
                        >= side.seen_granularity()
                    {
                        registry.touch(&device.id, now).await?;
                    }
                    state.devices.device.replace(Some(device.id));
                }
                _ => over = true,
            }
        }
    }
    if over {
        tracing::info!(target: "login_runtime", user_id = %user_id, "login revoked or timed out; ended");
        if let (Some(registry), Some(device_id)) = (&side.registry, &device_id) {
            registry.revoke(&user_id, device_id).await?;
        }
        crate::state::remove_login_keys(session);
        state.set_cookie_action(CookieAction::Clear);
    }
    Ok(())
}

/// Vets a verified remember token against the registry and the timeouts before it may
/// restore a login; `None` refuses it (and the cookie is cleared).
pub(crate) async fn vet_cookie(
    state: &RequestState,
    token: Option<RememberToken>,
) -> Result<Option<RememberToken>, LoginError> {
    let config = state.config();
    let side = &config.server_side;
    let Some(token) = token else {
        return Ok(None);
    };
    if side.is_off() {
        return Ok(Some(token));
    }
    let now = SystemTime::now();
    let Some(registry) = &side.registry else {
        // Without a registry the cookie's own issue time is all the server knows: the login
        // (or the last refresh of its cookie) must be within the timeouts.
        let issued = match (token.expires_at, token.duration) {
            (Some(expires), Some(duration)) => expires.checked_sub(duration),
            _ => None,
        };
        return Ok(issued
            .filter(|issued| !side.timed_out(*issued, *issued, now))
            .map(|issued| {
                state.devices.stamp.replace(Some(Stamp {
                    device: None,
                    login_at: issued,
                }));
                token
            }));
    };
    let cookie_device = state.devices.cookie_device.borrow().clone();
    let device = match cookie_device {
        Some(id) => registry.device(&id).await?,
        // A FlaskLogin cookie cannot carry a device: it becomes a new one.
        None if config.codec.format() == RememberFormat::FlaskLogin => {
            let device = Device::new(&token.user_id, now);
            registry.record(&device).await?;
            Some(device)
        }
        // Security: with a registry, a signed cookie must name a live device, so a revoked
        // one (or one made before the registry) never restores a login.
        None => None,
    };
    let Some(device) = device.filter(|device| device.user_id == token.user_id) else {
        return Ok(None);
    };
    if side.timed_out(device.created, device.last_seen, now) {
        registry.revoke(&device.user_id, &device.id).await?;
        return Ok(None);
    }
    if now.duration_since(device.last_seen).unwrap_or_default() >= side.seen_granularity() {
        registry.touch(&device.id, now).await?;
    }
    state.devices.device.replace(Some(device.id.clone()));
    state.devices.stamp.replace(Some(Stamp {
        device: Some(device.id),
        login_at: device.created,
    }));
    Ok(Some(token))
}

/// Makes the registry writes this request queued (a login's new device, a logout's revokes)
/// before its response, and so its session, goes out. If the registry fails, the request
/// fails and the session is not saved: a login is not half-made, a logout not half-done.
pub(crate) async fn flush(state: &RequestState) -> Result<(), LoginError> {
    let pending = std::mem::take(&mut *state.devices.pending.borrow_mut());
    if pending.is_empty() {
        return Ok(());
    }
    let Some(registry) = &state.config().server_side.registry else {
        return Ok(());
    };
    for op in pending {
        match op {
            Pending::Record(device) => registry.record(&device).await?,
            Pending::Revoke { user_id, device_id } => {
                registry.revoke(&user_id, &device_id).await?;
            }
        }
    }
    Ok(())
}

/// The signed-in devices of the request's user, for pages such as "your devices": list them,
/// log out one, or all others. Needs [`LoginManager::device_registry`](crate::LoginManager::device_registry).
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
            let state = RequestState::of(&req)?;
            let registry = state
                .config()
                .server_side
                .registry
                .clone()
                .ok_or(LoginError::NoDeviceRegistry)?;
            let user_id = state.current(&req).await?.map(|current| current.id);
            Ok(Devices {
                req,
                state,
                registry,
                user_id,
            })
        })
    }
}

impl Devices {
    /// The id of this request's device, if it is logged in through a session or a remember
    /// cookie.
    pub fn current(&self) -> Option<String> {
        self.state.devices.device.borrow().clone()
    }

    /// The logged-in user's devices (none for an anonymous request), oldest first.
    pub async fn list(&self) -> Result<Vec<Device>, LoginError> {
        let Some(user_id) = &self.user_id else {
            return Ok(Vec::new());
        };
        let mut devices = self.registry.devices(user_id).await?;
        devices.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(devices)
    }

    /// Logs out one of the user's devices: its sessions and its remember cookie stop working
    /// on every instance. `false` if the user has no such device. Revoking this request's own
    /// device logs this request out too.
    pub async fn revoke(&self, device_id: &str) -> Result<bool, LoginError> {
        let Some(user_id) = &self.user_id else {
            return Ok(false);
        };
        let revoked = self.registry.revoke(user_id, device_id).await?;
        if self.current().as_deref() == Some(device_id) {
            self.state.logout(&self.req)?;
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
        Ok(self
            .registry
            .revoke_all(user_id, current.as_deref())
            .await?)
    }

    /// Logs out every device of the user, this one included ("log out everywhere"), without
    /// a password change. Returns how many devices were logged out.
    pub async fn revoke_all(&self) -> Result<usize, LoginError> {
        let Some(user_id) = &self.user_id else {
            return Ok(0);
        };
        let revoked = self.registry.revoke_all(user_id, None).await?;
        self.state.logout(&self.req)?;
        Ok(revoked)
    }
}

/// Devices in this process's memory: for tests, and for an app that runs as one process
/// (its workers share it: give each worker's `LoginManager` a clone, and clones share the
/// same devices). An entry stays until it is revoked (logout, a revoke, a timeout); nothing
/// else expires it, so a busy site wants `RedisDevices` with its entry TTL.
#[derive(Debug, Clone, Default)]
pub struct MemoryDevices {
    devices: Arc<Mutex<HashMap<String, Device>>>,
}

impl MemoryDevices {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Device>) -> T) -> T {
        // A panic elsewhere while holding the lock leaves the map usable: every change is
        // one insert or remove.
        let mut devices = self.devices.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut devices)
    }
}

impl DeviceRegistry for MemoryDevices {
    async fn record(&self, device: &Device) -> Result<(), DeviceError> {
        self.with(|devices| devices.insert(device.id.clone(), device.clone()));
        Ok(())
    }

    async fn device(&self, device_id: &str) -> Result<Option<Device>, DeviceError> {
        Ok(self.with(|devices| devices.get(device_id).cloned()))
    }

    async fn touch(&self, device_id: &str, at: SystemTime) -> Result<(), DeviceError> {
        self.with(|devices| {
            if let Some(device) = devices.get_mut(device_id) {
                device.last_seen = at;
            }
        });
        Ok(())
    }

    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, DeviceError> {
        Ok(self.with(|devices| {
            devices
                .values()
                .filter(|device| device.user_id == user_id)
                .cloned()
                .collect()
        }))
    }

    async fn revoke(&self, user_id: &str, device_id: &str) -> Result<bool, DeviceError> {
        Ok(self.with(|devices| {
            let owned = devices
                .get(device_id)
                .is_some_and(|device| device.user_id == user_id);
            if owned {
                devices.remove(device_id);
            }
            owned
        }))
    }

    async fn revoke_all(&self, user_id: &str, except: Option<&str>) -> Result<usize, DeviceError> {
        Ok(self.with(|devices| {
            let before = devices.len();
            devices.retain(|id, device| device.user_id != user_id || Some(id.as_str()) == except);
            before - devices.len()
        }))
    }
}

#[cfg(feature = "redis")]
pub use self::redis_devices::RedisDevices;

#[cfg(feature = "redis")]
mod redis_devices {
    use std::time::{Duration, SystemTime};

    use deadpool_redis::redis::{self, AsyncCommands};

    use super::{Device, DeviceError, DeviceRegistry};

    /// Devices in Redis, shared by every instance of the app (feature `redis`). Takes a
    /// `deadpool_redis` pool, the same kind `RedisSessionStore::new_pooled` takes; give it
    /// wait/create/recycle timeouts, so a Redis that is down fails requests at once.
    ///
    /// Keys: `{prefix}device:{id}` (the device, JSON) and `{prefix}user:{hex of user id}`
    /// (the set of the user's device ids), both expiring after the entry TTL (default 400
    /// days; keep it at least the remember cookie's duration).
    #[derive(Clone)]
    pub struct RedisDevices {
        pool: deadpool_redis::Pool,
        prefix: String,
        ttl: Duration,
        timeout: Duration,
    }

    impl std::fmt::Debug for RedisDevices {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RedisDevices")
                .field("prefix", &self.prefix)
                .field("ttl", &self.ttl)
                .field("timeout", &self.timeout)
                .finish_non_exhaustive()
        }
    }

    impl RedisDevices {
        /// Devices in the Redis behind `pool`, under keys starting with `prefix` (e.g.
        /// `"myapp:devices:"`).
        pub fn new(pool: deadpool_redis::Pool, prefix: impl Into<String>) -> Self {
            RedisDevices {
                pool,
                prefix: prefix.into(),
                ttl: Duration::from_secs(400 * 24 * 3600),
                timeout: Duration::from_secs(2),
            }
        }

        /// How long a device entry lives without a login (default 400 days).
        pub fn entry_ttl(mut self, ttl: Duration) -> Self {
            self.ttl = ttl.max(Duration::from_secs(1));
            self
        }

        /// How long one registry operation may take before the request fails with 503
        /// (default 2 s).
        pub fn timeout(mut self, timeout: Duration) -> Self {
            self.timeout = timeout;
            self
        }

        fn device_key(&self, id: &str) -> String {
            format!("{}device:{id}", self.prefix)
        }

        fn user_key(&self, user_id: &str) -> String {
            format!("{}user:{}", self.prefix, hex::encode(user_id))
        }

        /// Runs `op` on a pooled connection, within the timeout.
        async fn run<T, F>(&self, op: F) -> Result<T, DeviceError>
        where
            F: AsyncFnOnce(&mut deadpool_redis::Connection) -> redis::RedisResult<T>,
        {
            let work = async {
                let mut conn = self
                    .pool
                    .get()
                    .await
                    .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
                op(&mut conn)
                    .await
                    .map_err(|error| DeviceError::Unavailable(error.to_string()))
            };
            actix_web::rt::time::timeout(self.timeout, work)
                .await
                .map_err(|_| DeviceError::Timeout(self.timeout))?
        }

        fn ttl_secs(&self) -> u64 {
            self.ttl.as_secs().max(1)
        }
    }

    /// A stored device; anything that does not parse reads as gone (never as a login).
    fn parse(json: Option<String>) -> Option<Device> {
        serde_json::from_str(&json?).ok()
    }

    impl DeviceRegistry for RedisDevices {
        async fn record(&self, device: &Device) -> Result<(), DeviceError> {
            let json = serde_json::to_string(device)
                .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
            let (device_key, user_key, ttl) = (
                self.device_key(&device.id),
                self.user_key(&device.user_id),
                self.ttl_secs(),
            );
            self.run(async |conn| {
                redis::pipe()
                    .atomic()
                    .set_ex(&device_key, &json, ttl)
                    .ignore()
                    .sadd(&user_key, &device.id)
                    .ignore()
                    .expire(&user_key, i64::try_from(ttl).unwrap_or(i64::MAX))
                    .ignore()
                    .query_async::<()>(conn)
                    .await
            })
            .await
        }

        async fn device(&self, device_id: &str) -> Result<Option<Device>, DeviceError> {
            let key = self.device_key(device_id);
            let json = self
                .run(async |conn| conn.get::<_, Option<String>>(&key).await)
                .await?;
            Ok(parse(json))
        }

        async fn touch(&self, device_id: &str, at: SystemTime) -> Result<(), DeviceError> {
            let key = self.device_key(device_id);
            let Some(mut device) = self.device(device_id).await? else {
                return Ok(());
            };
            device.last_seen = at;
            let json = serde_json::to_string(&device)
                .map_err(|error| DeviceError::Unavailable(error.to_string()))?;
            // XX: only while the device still exists, so a touch racing a revoke never
            // brings the device back. KEEPTTL: touching does not extend the entry.
            self.run(async |conn| {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&json)
                    .arg("XX")
                    .arg("KEEPTTL")
                    .query_async::<()>(conn)
                    .await
            })
            .await
        }

        async fn devices(&self, user_id: &str) -> Result<Vec<Device>, DeviceError> {
            let user_key = self.user_key(user_id);
            let ids: Vec<String> = self
                .run(async |conn| conn.smembers(&user_key).await)
                .await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<String> = ids.iter().map(|id| self.device_key(id)).collect();
            let values: Vec<Option<String>> = self
                .run(async |conn| redis::cmd("MGET").arg(&keys).query_async(conn).await)
                .await?;
            let mut devices = Vec::new();
            let mut gone = Vec::new();
            for (id, value) in ids.iter().zip(values) {
                match parse(value).filter(|device| device.user_id == user_id) {
                    Some(device) => devices.push(device),
                    None => gone.push(id.clone()),
                }
            }
            if !gone.is_empty() {
                self.run(async |conn| conn.srem::<_, _, ()>(&user_key, &gone).await)
                    .await?;
            }
            Ok(devices)
        }

        async fn revoke(&self, user_id: &str, device_id: &str) -> Result<bool, DeviceError> {
            let owned = self
                .device(device_id)
                .await?
                .is_some_and(|device| device.user_id == user_id);
            let (device_key, user_key) = (self.device_key(device_id), self.user_key(user_id));
            self.run(async |conn| {
                let mut pipe = redis::pipe();
                pipe.atomic();
                if owned {
                    pipe.del(&device_key).ignore();
                }
                pipe.srem(&user_key, device_id).ignore();
                pipe.query_async::<()>(conn).await
            })
            .await?;
            Ok(owned)
        }

        async fn revoke_all(
            &self,
            user_id: &str,
            except: Option<&str>,
        ) -> Result<usize, DeviceError> {
            let user_key = self.user_key(user_id);
            let ids: Vec<String> = self
                .run(async |conn| conn.smembers(&user_key).await)
                .await?;
            let doomed: Vec<&String> = ids
                .iter()
                .filter(|id| Some(id.as_str()) != except)
                .collect();
            if doomed.is_empty() {
                return Ok(0);
            }
            let keys: Vec<String> = doomed.iter().map(|id| self.device_key(id)).collect();
            let deleted: usize = self
                .run(async |conn| {
                    let (deleted,): (usize,) = redis::pipe()
                        .atomic()
                        .del(&keys)
                        .srem(&user_key, &doomed)
                        .ignore()
                        .query_async(conn)
                        .await?;
                    Ok(deleted)
                })
                .await?;
            Ok(deleted)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{RequestDevices, ServerSide, bound_tag};
    use crate::remember::RememberToken;

    /// A verified token whose tag field is `tag`.
    fn token(tag: Option<&str>) -> RememberToken {
        let codec = crate::remember::RememberCodec::new(
            crate::RememberFormat::Signed,
            crate::SecretKey::generate(),
        );
        let now = SystemTime::now();
        let cookie = codec.encode("7", tag, Duration::from_secs(60), now);
        codec.decode(&cookie, now).unwrap_or_else(|| unreachable!())
    }

    fn with_registry() -> ServerSide {
        ServerSide {
            registry: Some(std::rc::Rc::new(super::MemoryDevices::new())),
            ..ServerSide::default()
        }
    }

    const DEVICE: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_bound_tag_gives_back_the_device_and_the_users_tag() {
        for tag in [Some("5f2a"), None] {
            let bound = bound_tag(Some(DEVICE), tag).map(|tag| tag.into_owned());
            let devices = RequestDevices::default();
            let unbound = devices.unbind(&with_registry(), token(bound.as_deref()));
            assert_eq!(unbound.hash_tag.as_deref(), tag);
            assert_eq!(devices.cookie_device.borrow().as_deref(), Some(DEVICE));
        }
    }

    #[test]
    fn only_a_device_id_is_taken_out_of_a_tag() {
        for tag in [
            "5f2a",
            "not-hex!5f2a",
            "0123!5f2a",
            "0123456789ABCDEF0123456789ABCDEF!x",
        ] {
            let devices = RequestDevices::default();
            let unbound = devices.unbind(&with_registry(), token(Some(tag)));
            assert_eq!(unbound.hash_tag.as_deref(), Some(tag));
            assert_eq!(*devices.cookie_device.borrow(), None);
        }
    }

    #[test]
    fn without_a_registry_tags_are_left_alone() {
        let bound = format!("{DEVICE}!5f2a");
        let devices = RequestDevices::default();
        let token = devices.unbind(&ServerSide::default(), token(Some(&bound)));
        assert_eq!(token.hash_tag.as_deref(), Some(bound.as_str()));
        assert_eq!(bound_tag(None, Some("5f2a")).as_deref(), Some("5f2a"));
    }

    #[test]
    fn timeouts_count_from_the_login_and_from_the_last_visit() {
        let side = ServerSide {
            idle_timeout: Some(Duration::from_secs(60)),
            lifetime: Some(Duration::from_secs(3600)),
            ..ServerSide::default()
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |secs| t0 + Duration::from_secs(secs);
        assert!(!side.timed_out(t0, at(3000), at(3059)));
        assert!(side.timed_out(t0, at(3000), at(3060)), "idle");
        assert!(side.timed_out(t0, at(3599), at(3600)), "past its lifetime");
        assert!(
            !side.timed_out(t0, t0, t0 - Duration::from_secs(5)),
            "clock went back"
        );
        assert_eq!(side.seen_granularity(), Duration::from_secs(15));
        assert_eq!(
            ServerSide::default().seen_granularity(),
            Duration::from_secs(60)
        );
    }
}
