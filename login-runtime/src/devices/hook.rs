//! How the device registry and the timeouts take part in every login and request: the
//! feature's [`LoginHook`].

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::SystemTime;

use actix_web::{HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::client::ClientAddress;
use crate::core::error::LoginError;
use crate::core::hooks::{Ended, HookCx, LoginHook, LoginStamp, Verdict};
use crate::core::session::read;
use crate::devices::policy::{Timeouts, from_millis, millis};
use crate::devices::registry::{Device, ErasedRegistry};
use crate::remember::{RememberFormat, RememberToken};

/// Session key: the device id of the session's login.
pub(crate) const DEVICE: &str = "_device";
/// Session key: when the login was made (milliseconds since the Unix epoch).
pub(crate) const LOGIN_AT: &str = "_login_at";
/// Session key: when the login was last seen (milliseconds since the Unix epoch).
pub(crate) const SEEN: &str = "_seen";

/// The registry and timeouts a `LoginManager` was configured with.
#[derive(Clone)]
pub(crate) struct ServerSide {
    pub(crate) registry: Option<Rc<dyn ErasedRegistry>>,
    pub(crate) timeouts: Timeouts,
    /// Which manager's this is (clones share it): each keeps its own per-request devices,
    /// so two kinds of user with a registry each never mix theirs.
    id: u64,
}

impl Default for ServerSide {
    fn default() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        ServerSide {
            registry: None,
            timeouts: Timeouts::default(),
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

impl fmt::Debug for ServerSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSide")
            .field("registry", &self.registry.is_some())
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

enum Pending {
    Record(Device),
    Revoke { user_id: String, device_id: String },
}

/// This request's devices: the device of its login, and the registry writes to make before
/// the response goes out. Kept in the request's extensions, made by the first hook call.
#[derive(Default)]
pub(crate) struct RequestDevices {
    /// The device of this request's login, once known.
    pub(crate) device: RefCell<Option<String>>,
    pending: RefCell<Vec<Pending>>,
}

/// The request's devices of each manager with a registry or timeouts, by [`ServerSide`] id.
#[derive(Default)]
struct ByManager(Vec<(u64, Rc<RequestDevices>)>);

impl RequestDevices {
    /// The request's devices of the manager `side` is, made on first use.
    pub(crate) fn of(req: &HttpRequest, side: &ServerSide) -> Rc<RequestDevices> {
        if let Some(devices) = RequestDevices::existing(req, side) {
            return devices;
        }
        let devices = Rc::new(RequestDevices::default());
        let mut extensions = req.extensions_mut();
        match extensions.get_mut::<ByManager>() {
            Some(by_manager) => by_manager.0.push((side.id, Rc::clone(&devices))),
            None => {
                extensions.insert(ByManager(vec![(side.id, Rc::clone(&devices))]));
            }
        }
        devices
    }

    fn existing(req: &HttpRequest, side: &ServerSide) -> Option<Rc<RequestDevices>> {
        req.extensions().get::<ByManager>().and_then(|by_manager| {
            by_manager
                .0
                .iter()
                .find(|(id, _)| *id == side.id)
                .map(|(_, devices)| Rc::clone(devices))
        })
    }

    /// The request's device of the manager `side` is, if any hook call made its devices.
    pub(crate) fn current(req: &HttpRequest, side: &ServerSide) -> Option<String> {
        RequestDevices::existing(req, side).and_then(|devices| devices.device.borrow().clone())
    }

    fn revoke(&self, user_id: &str, device_id: String) {
        self.pending.borrow_mut().push(Pending::Revoke {
            user_id: user_id.to_owned(),
            device_id,
        });
    }
}

/// A device id: 32 random lowercase hex digits.
fn is_device_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ServerSide {
    /// The session entries of a login stamped with `device` and made at `login_at`.
    fn stamp(&self, device: Option<String>, login_at: SystemTime) -> LoginStamp {
        let mut entries = Vec::new();
        if let Some(device) = &device {
            entries.push((DEVICE, serde_json::Value::from(device.as_str())));
        }
        if self.timeouts.any() {
            entries.push((LOGIN_AT, serde_json::Value::from(millis(login_at))));
            entries.push((SEEN, serde_json::Value::from(millis(SystemTime::now()))));
        }
        LoginStamp {
            entries,
            cookie_binding: device,
        }
    }

    /// Whether the session's login is within its timeouts; refreshes "last seen" when stale.
    fn within_timeouts(&self, cx: &HookCx<'_>, now: SystemTime) -> Result<bool, LoginError> {
        if !self.timeouts.any() {
            return Ok(true);
        }
        let (Some(login_at), Some(seen)) = (
            read::<u64>(cx.session, &cx.key(LOGIN_AT)),
            read::<u64>(cx.session, &cx.key(SEEN)),
        ) else {
            // A login without times cannot prove it is still within them.
            return Ok(false);
        };
        // Security: timeouts are checked on the server, from times the client cannot change.
        if self
            .timeouts
            .timed_out(from_millis(login_at), from_millis(seen), now)
        {
            return Ok(false);
        }
        if self.timeouts.seen_is_stale(from_millis(seen), now) {
            crate::core::session::put(cx.session, &cx.key(SEEN), millis(now))?;
        }
        Ok(true)
    }

    async fn check(&self, cx: &HookCx<'_>, user_id: &str) -> Result<Verdict, LoginError> {
        let now = SystemTime::now();
        let device_id = read::<String>(cx.session, &cx.key(DEVICE));
        let mut over = !self.within_timeouts(cx, now)?;
        if let Some(registry) = &self.registry
            && !over
        {
            let devices = RequestDevices::of(cx.req, self);
            let made_here = device_id.is_some() && *devices.device.borrow() == device_id;
            if !made_here {
                // Security: a login whose device was revoked is over, on every instance and in
                // every copy of the session, whatever requests were in flight when it was
                // revoked.
                let device = match &device_id {
                    Some(id) => registry.device(id).await?,
                    None => None,
                };
                match device {
                    Some(device) if device.user_id == user_id => {
                        if self.timeouts.seen_is_stale(device.last_seen, now) {
                            registry.touch(&device.id, now).await?;
                        }
                        devices.device.replace(Some(device.id));
                    }
                    _ => over = true,
                }
            }
        }
        if !over {
            return Ok(Verdict::Keep);
        }
        if let (Some(registry), Some(device_id)) = (&self.registry, &device_id) {
            registry.revoke(user_id, device_id).await?;
        }
        Ok(Verdict::End)
    }

    async fn vet(
        &self,
        cx: &HookCx<'_>,
        token: &RememberToken,
        binding: Option<&str>,
    ) -> Result<Option<LoginStamp>, LoginError> {
        let now = SystemTime::now();
        let Some(registry) = &self.registry else {
            // Without a registry the cookie's own issue time is all the server knows: the
            // login (or the last refresh of its cookie) must be within the timeouts.
            let issued = match (token.expires_at, token.duration) {
                (Some(expires), Some(duration)) => expires.checked_sub(duration),
                _ => None,
            };
            return Ok(issued
                .filter(|issued| !self.timeouts.timed_out(*issued, *issued, now))
                .map(|issued| self.stamp(None, issued)));
        };
        let device = match binding {
            Some(id) => registry.device(id).await?,
            // A FlaskLogin cookie cannot carry a device: it becomes a new one.
            None if cx.remember_format == RememberFormat::FlaskLogin => {
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
        if self
            .timeouts
            .timed_out(device.created, device.last_seen, now)
        {
            registry.revoke(&device.user_id, &device.id).await?;
            return Ok(None);
        }
        if self.timeouts.seen_is_stale(device.last_seen, now) {
            registry.touch(&device.id, now).await?;
        }
        RequestDevices::of(cx.req, self)
            .device
            .replace(Some(device.id.clone()));
        Ok(Some(self.stamp(Some(device.id), device.created)))
    }

    /// Makes the registry writes this request queued (a login's new device, a logout's
    /// revokes) before its response, and so its session, goes out. If the registry fails, the
    /// request fails and the session is not saved: a login is not half-made, a logout not
    /// half-done.
    async fn flush(&self, req: &HttpRequest) -> Result<(), LoginError> {
        let Some(registry) = &self.registry else {
            return Ok(());
        };
        let Some(devices) = RequestDevices::existing(req, self) else {
            return Ok(());
        };
        let pending = std::mem::take(&mut *devices.pending.borrow_mut());
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
}

impl LoginHook for ServerSide {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn session_keys(&self) -> &'static [&'static str] {
        &[DEVICE, LOGIN_AT, SEEN]
    }

    fn accepts_binding(&self, binding: &str) -> bool {
        self.registry.is_some() && is_device_id(binding)
    }

    fn on_login(
        &self,
        cx: &HookCx<'_>,
        user_id: &str,
        session_tag: Option<&str>,
        replaced: Option<&str>,
    ) -> Result<LoginStamp, LoginError> {
        let now = SystemTime::now();
        let device = self.registry.as_ref().map(|_| {
            let devices = RequestDevices::of(cx.req, self);
            // A new login replaces the one this session held: that device ends with it, so no
            // copy of the old session or its remember cookie outlives it.
            if let (Some(old_user), Some(old_device)) =
                (replaced, read::<String>(cx.session, &cx.key(DEVICE)))
            {
                devices.revoke(old_user, old_device);
            }
            let mut device = Device::new(user_id, now).with_user_agent(cx.req);
            // The same rule as session protection's and `client_address`'s.
            device.address = ClientAddress::of(cx.req, cx.proxies).to_text();
            device.session_tag = session_tag.map(str::to_owned);
            let id = device.id.clone();
            devices.pending.borrow_mut().push(Pending::Record(device));
            devices.device.replace(Some(id.clone()));
            id
        });
        Ok(self.stamp(device, now))
    }

    fn on_logout(&self, cx: &HookCx<'_>, user_id: Option<&str>) {
        // Security: the login's device is revoked, so neither a copy of its session saved by
        // a request still in flight nor its remember cookie logs in again.
        self.revoke_login(cx, user_id);
    }

    fn on_login_ended(&self, cx: &HookCx<'_>, user_id: &str, _why: Ended) {
        // A login that can no longer be valid: its device goes, so it is neither listed nor
        // counted as signed in.
        self.revoke_login(cx, Some(user_id));
        if let Some(devices) = RequestDevices::existing(cx.req, self) {
            devices.device.replace(None);
        }
    }

    fn check_session<'a>(
        &'a self,
        cx: &'a HookCx<'a>,
        user_id: &'a str,
    ) -> LocalBoxFuture<'a, Result<Verdict, LoginError>> {
        Box::pin(self.check(cx, user_id))
    }

    fn vet_cookie<'a>(
        &'a self,
        cx: &'a HookCx<'a>,
        token: &'a RememberToken,
        binding: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Option<LoginStamp>, LoginError>> {
        Box::pin(self.vet(cx, token, binding))
    }

    fn before_response<'a>(
        &'a self,
        req: &'a HttpRequest,
    ) -> LocalBoxFuture<'a, Result<(), LoginError>> {
        Box::pin(self.flush(req))
    }
}

impl ServerSide {
    /// Queues the revocation of the session's device and of the remember cookie's.
    fn revoke_login(&self, cx: &HookCx<'_>, user_id: Option<&str>) {
        if self.registry.is_none() {
            return;
        }
        let devices = RequestDevices::of(cx.req, self);
        let device = read::<String>(cx.session, &cx.key(DEVICE));
        if let (Some(user_id), Some(device_id)) = (user_id, device) {
            devices.revoke(user_id, device_id);
        }
        if let Some((cookie_user, device_id)) = cx.cookie {
            devices.revoke(cookie_user, device_id.to_owned());
        }
    }
}
