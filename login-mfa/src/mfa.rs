//! [`Mfa`]: the builder, and every step as a method the routes (and the app) call.

use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_session::SessionExt;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use login_runtime::throttle::{MemoryThrottleStore, SharedThrottleStore, Throttle, ThrottleStore};
use login_runtime::{
    AfterFirstFactor, AuthMethod, AuthUser, Device, DeviceRegistry, FirstFactor, Login,
    LoginOptions, SecondStepHandler, SecretKey, UserLoader,
};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Webauthn, WebauthnBuilder,
};

use crate::config::{ConfigError, MfaConfig};
use crate::error::MfaError;
use crate::events::{ErasedSink, Factor, MfaEvent, MfaEventSink, PENDING};
use crate::pages::{DefaultPages, DynPages, MfaPages};
use crate::pending::{self, Pending, PendingFactor};
use crate::secrets::Keys;
use crate::services::DynDevices;
use crate::store::{MemoryMfaStore, MfaStore, PasskeyRecord, TotpRecord};
use crate::totp::{Totp, TotpAlgorithm, qr_svg};

/// What the app's users must tell the second factors: the name shown in authenticator apps
/// and passkey prompts.
pub trait MfaUser: AuthUser {
    /// The account's name as the user knows it (a user name or an address).
    fn account_name(&self) -> String {
        self.id().to_string()
    }
}

type EventCallback = Rc<dyn Fn(&MfaEvent)>;
type Clock = Rc<dyn Fn() -> SystemTime>;
type FormCheck = Rc<dyn Fn(&HttpRequest, &str) -> bool>;
type FormIssue = Rc<dyn Fn(&HttpRequest) -> String>;

/// What came of the first factor, from [`Mfa::after_first_factor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstStep {
    /// The account has no second factor: logged in.
    LoggedIn,
    /// A trusted device: logged in without the second step.
    Trusted,
    /// A second factor is needed: the login waits for it (nobody is logged in yet).
    SecondFactor,
    /// The account is disabled: nobody was logged in.
    Inactive,
}

/// What the second step offers a pending login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SecondStep {
    /// A code from an authenticator app is accepted.
    pub totp: bool,
    /// A passkey is accepted.
    pub passkey: bool,
    /// How many recovery codes are left.
    pub recovery_codes: usize,
    /// Seconds left before the pending login expires.
    pub expires_in: u64,
    /// Not a sign-in waiting but a login made without a second factor that a page needing
    /// one sent here: the factor is added to it.
    pub step_up: bool,
}

/// A TOTP enrolment waiting for its first code: what the page shows.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TotpEnrolment {
    /// The secret in base32, for typing.
    pub secret: String,
    /// The `otpauth://` URL.
    pub otpauth_url: String,
    /// The QR code of the URL, an SVG document.
    pub qr_svg: String,
    /// The QR code as a `data:` URL, for an `<img src>`.
    pub qr_data_url: String,
}

/// A user's factors, as the security page lists them.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SecurityOverview {
    /// TOTP is enabled.
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes: usize,
    /// The passkeys.
    pub passkeys: Vec<PasskeyInfo>,
}

/// A passkey as listed: never its key.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PasskeyInfo {
    /// The credential id (hex).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Registered, unix seconds.
    pub created: u64,
    /// Last used, unix seconds.
    pub last_used: Option<u64>,
}

/// A ceremony, kept in the store under a random id between its two requests.
#[derive(Serialize, Deserialize)]
enum Ceremony {
    Register {
        user: String,
        name: String,
        state: PasskeyRegistration,
    },
    SecondFactor {
        user: String,
        state: PasskeyAuthentication,
    },
    Reauthenticate {
        user: String,
        state: PasskeyAuthentication,
    },
    SignIn {
        state: DiscoverableAuthentication,
    },
}

/// Which passkey ceremony a request starts or finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CeremonyKind {
    SecondFactor,
    Reauthenticate,
    SignIn,
}

pub(crate) struct Inner<L: UserLoader, S> {
    pub(crate) config: MfaConfig,
    pub(crate) users: L,
    pub(crate) store: S,
    pub(crate) keys: Keys,
    webauthn: Webauthn,
    throttle: Throttle<SharedThrottleStore>,
    devices: Option<Rc<dyn DynDevices>>,
    events: Vec<EventCallback>,
    sinks: Vec<Rc<dyn ErasedSink>>,
    clock: Clock,
    pub(crate) pages: Rc<dyn DynPages>,
    form_issue: Option<FormIssue>,
    form_check: Option<FormCheck>,
}

/// Second factors for a login-runtime app: the pending login, TOTP, recovery codes,
/// passkeys and trusted devices, with routes under [`MfaConfig::prefix`]
/// ([`Mfa::configure`]). Cheap to clone.
pub struct Mfa<L: UserLoader, S = MemoryMfaStore> {
    pub(crate) inner: Rc<Inner<L, S>>,
}

impl<L: UserLoader, S> Clone for Mfa<L, S> {
    fn clone(&self) -> Self {
        Mfa {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<L: UserLoader, S> fmt::Debug for Mfa<L, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mfa")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn random_hex(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(raw)
}

/// The second step of every first factor that goes through login-runtime's
/// [`Login::after_first_factor`] (login-account's sign-in links, login-oidc's callback, the
/// app's password form): [`Mfa::configure`] installs it as app data.
impl<L, S> SecondStepHandler<L::User> for Mfa<L, S>
where
    L: UserLoader,
    L::User: MfaUser,
    S: MfaStore,
{
    fn after_first_factor<'a>(
        &'a self,
        req: &'a HttpRequest,
        user: &'a L::User,
        first: FirstFactor,
    ) -> futures_util::future::LocalBoxFuture<'a, Result<AfterFirstFactor, String>> {
        Box::pin(async move {
            match self.after_first(req, user, first).await {
                Ok(FirstStep::LoggedIn | FirstStep::Trusted) => Ok(AfterFirstFactor::LoggedIn),
                Ok(FirstStep::Inactive) => Ok(AfterFirstFactor::Inactive),
                Ok(FirstStep::SecondFactor) => Ok(AfterFirstFactor::SecondStep {
                    url: format!("{}/verify", self.inner.config.prefix),
                }),
                Err(error) => Err(error.to_string()),
            }
        })
    }
}

impl<L, S> Mfa<L, S>
where
    L: UserLoader,
    L::User: MfaUser,
    S: MfaStore,
{
    /// Second factors for the users `users` loads (the app's `UserLoader`), kept in `store`,
    /// keyed by the app's `key` (the one given to `LoginManager::secret_key`).
    pub fn new(
        config: MfaConfig,
        users: L,
        store: S,
        key: &SecretKey,
    ) -> Result<Mfa<L, S>, ConfigError> {
        let first = config
            .origins
            .first()
            .ok_or_else(|| ConfigError::Origin(String::new()))?;
        let mut builder = WebauthnBuilder::new(&config.rp_id, first)
            .map_err(|e| ConfigError::RelyingParty(e.to_string()))?
            .rp_name(&config.site_name);
        for origin in config.origins.iter().skip(1) {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| ConfigError::RelyingParty(e.to_string()))?;
        let throttle = Throttle::new(
            SharedThrottleStore::new(MemoryThrottleStore::default()),
            config.code_attempts,
            config.code_window,
        );
        Ok(Mfa {
            inner: Rc::new(Inner {
                config,
                users,
                store,
                keys: Keys::new(key),
                webauthn,
                throttle,
                devices: None,
                events: Vec::new(),
                sinks: Vec::new(),
                clock: Rc::new(SystemTime::now),
                pages: Rc::new(DefaultPages),
                form_issue: None,
                form_check: None,
            }),
        })
    }

    fn inner_mut(&mut self) -> &mut Inner<L, S> {
        // Built before it is shared: the builder methods run on the only handle.
        match Rc::get_mut(&mut self.inner) {
            Some(inner) => inner,
            None => unreachable!("Mfa's builder methods are called before it is cloned"),
        }
    }

    /// Counts wrong codes in this store (login-runtime's throttle store: memory by default,
    /// the app's database or Redis with several servers).
    pub fn throttle_store(mut self, store: impl ThrottleStore) -> Self {
        let config = &self.inner.config;
        let throttle = Throttle::new(
            SharedThrottleStore::new(store),
            config.code_attempts,
            config.code_window,
        );
        self.inner_mut().throttle = throttle;
        self
    }

    /// Enables trusted devices ("don't ask again on this device"), each an entry of this
    /// registry (the one given to `LoginManager::device_registry`): it is listed with the
    /// user's devices and stops working when it is logged out there, by "log out
    /// everywhere", and when the password changes.
    pub fn device_registry(mut self, registry: impl DeviceRegistry) -> Self {
        self.inner_mut().devices = Some(Rc::new(registry));
        self
    }

    /// Calls `callback` with every [`MfaEvent`].
    pub fn on_event(mut self, callback: impl Fn(&MfaEvent) + 'static) -> Self {
        self.inner_mut().events.push(Rc::new(callback));
        self
    }

    /// Hands every [`MfaEvent`] to `sink` as well, awaited before the answer goes out (an
    /// audit row in a database); a sink's error fails the request. See [`MfaEventSink`].
    pub fn event_sink(mut self, sink: impl MfaEventSink) -> Self {
        self.inner_mut().sinks.push(Rc::new(sink));
        self
    }

    /// Renders the pages with the app's [`MfaPages`].
    pub fn pages(mut self, pages: impl MfaPages) -> Self {
        self.inner_mut().pages = Rc::new(pages);
        self
    }

    /// The app's own form tokens (CSRF): `issue` makes the token a page's forms carry,
    /// `check` compares a posted one. Without it, a token of login-mfa's own in the session.
    pub fn form_token(
        mut self,
        issue: impl Fn(&HttpRequest) -> String + 'static,
        check: impl Fn(&HttpRequest, &str) -> bool + 'static,
    ) -> Self {
        self.inner_mut().form_issue = Some(Rc::new(issue));
        self.inner_mut().form_check = Some(Rc::new(check));
        self
    }

    /// The time (tests move it).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + 'static) -> Self {
        self.inner_mut().clock = Rc::new(clock);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &MfaConfig {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> SystemTime {
        (self.inner.clock)()
    }

    pub(crate) fn emit(&self, event: MfaEvent) {
        tracing::info!(target: "login_mfa", ?event, "second factor");
        for callback in &self.inner.events {
            callback(&event);
        }
        if self.inner.sinks.is_empty() {
            return;
        }
        if PENDING
            .try_with(|pending| pending.borrow_mut().push(event))
            .is_err()
        {
            tracing::error!(target: "login_mfa", "an event outside a request login-mfa serves reached no event sink");
        }
    }

    /// Runs `work` keeping the events it emits for the sinks: its outcome and those events.
    async fn collecting<T>(&self, work: impl Future<Output = T>) -> (T, Vec<MfaEvent>) {
        if self.inner.sinks.is_empty() {
            return (work.await, Vec::new());
        }
        PENDING
            .scope(std::cell::RefCell::new(Vec::new()), async {
                let value = work.await;
                (value, PENDING.with(std::cell::RefCell::take))
            })
            .await
    }

    /// Hands `events` to every sink, in order, with their request `req`.
    async fn deliver(&self, events: &[MfaEvent], req: &HttpRequest) -> actix_web::Result<()> {
        for event in events {
            for sink in &self.inner.sinks {
                sink.deliver(event, req).await?;
            }
        }
        Ok(())
    }

    /// A route's answer, once the sinks have its events.
    pub(crate) async fn answer(
        &self,
        req: &HttpRequest,
        work: impl Future<Output = HttpResponse>,
    ) -> actix_web::Result<HttpResponse> {
        let (answer, events) = self.collecting(work).await;
        self.deliver(&events, req).await?;
        Ok(answer)
    }

    pub(crate) fn form_token_of(&self, req: &HttpRequest) -> String {
        match &self.inner.form_issue {
            Some(issue) => issue(req),
            None => crate::respond::session_token(req),
        }
    }

    pub(crate) fn form_token_ok(&self, req: &HttpRequest, sent: &str) -> bool {
        match &self.inner.form_check {
            Some(check) => check(req, sent),
            None => crate::respond::session_token_ok(req, sent),
        }
    }

    // ----- the user -----

    pub(crate) async fn load(&self, user_id: &str) -> Result<Option<L::User>, MfaError> {
        let Ok(id) = user_id.parse::<L::Id>() else {
            return Ok(None);
        };
        self.inner
            .users
            .load_user(&id)
            .await
            .map_err(|e| MfaError::Login(e.to_string()))
            .map(|user| user.filter(|user| user.is_active()))
    }

    pub(crate) async fn login_handle(req: &HttpRequest) -> Result<Login<L::User>, MfaError> {
        Login::<L::User>::extract(req)
            .await
            .map_err(|e| MfaError::Login(e.to_string()))
    }

    /// Whether the user has a second factor to give: TOTP enabled, or a passkey (recovery
    /// codes alone are not one). For `UserLoader::has_second_factor`.
    pub async fn has_second_factor(&self, user_id: &str) -> Result<bool, MfaError> {
        let totp = self
            .inner
            .store
            .totp(user_id)
            .await?
            .is_some_and(|t| t.enabled);
        Ok(totp || !self.inner.store.passkeys(user_id).await?.is_empty())
    }

    // ----- the two-step login -----

    /// Call when the first factor (`first`: a password, a sign-in link, a provider) proved
    /// `user`, instead of logging in: logs in if the account has no second factor (or the
    /// device is trusted), else keeps a pending login in the session, not a login, which
    /// only the second factor completes. `remember` is applied when the login is made.
    pub async fn after_first_factor(
        &self,
        req: &HttpRequest,
        user: &L::User,
        first: AuthMethod,
        remember: bool,
    ) -> Result<FirstStep, MfaError> {
        let next = Self::login_handle(req).await?.next_url();
        self.after_first(
            req,
            user,
            FirstFactor::new(first).remember(remember).next(next),
        )
        .await
    }

    /// [`after_first_factor`](Self::after_first_factor) with `first`'s `next`, for
    /// login-runtime's [`SecondStepHandler`].
    async fn after_first(
        &self,
        req: &HttpRequest,
        user: &L::User,
        first: FirstFactor,
    ) -> Result<FirstStep, MfaError> {
        let (step, events) = self
            .collecting(self.first_factor_step(req, user, first))
            .await;
        self.deliver(&events, req)
            .await
            .map_err(|error| MfaError::Internal(format!("an event sink failed: {error}")))?;
        step
    }

    async fn first_factor_step(
        &self,
        req: &HttpRequest,
        user: &L::User,
        first: FirstFactor,
    ) -> Result<FirstStep, MfaError> {
        let FirstFactor {
            method,
            remember,
            next,
            ..
        } = first;
        let user_id = user.id().to_string();
        let login = Self::login_handle(req).await?;
        if !self.has_second_factor(&user_id).await? {
            return Ok(match self.log_in(&login, user, remember, &[method]) {
                Ok(()) => FirstStep::LoggedIn,
                Err(MfaError::Inactive) => FirstStep::Inactive,
                Err(error) => return Err(error),
            });
        }
        if !user.is_active() {
            // Nothing to wait for: the login could not be made after the second step either.
            return Ok(FirstStep::Inactive);
        }
        if self.trusted(req, user).await? {
            self.log_in(&login, user, remember, std::slice::from_ref(&method))?;
            self.emit(MfaEvent::TrustedDeviceUsed { user_id });
            return Ok(FirstStep::Trusted);
        }
        let session = req.get_session();
        let expires = unix(self.now() + self.inner.config.pending_lifetime);
        pending::write(
            &session,
            &Pending {
                user: user_id.clone(),
                expires,
                remember,
                first: vec![PendingFactor::of(&method)],
                next,
                step_up: false,
            },
        )
        .map_err(MfaError::Login)?;
        self.emit(MfaEvent::SecondStepStarted { user_id });
        Ok(FirstStep::SecondFactor)
    }

    fn log_in(
        &self,
        login: &Login<L::User>,
        user: &L::User,
        remember: bool,
        methods: &[AuthMethod],
    ) -> Result<(), MfaError> {
        let mut options = LoginOptions::new().remember(remember).fresh(true);
        for method in methods {
            options = options.method(method.clone());
        }
        match login.login_with(user, options) {
            Ok(true) => Ok(()),
            Ok(false) => Err(MfaError::Inactive),
            Err(error) => Err(MfaError::Login(error.to_string())),
        }
    }

    /// The session's pending login if it has not expired; an expired one is dropped.
    pub(crate) fn pending(&self, req: &HttpRequest) -> Result<Pending, MfaError> {
        let session = req.get_session();
        let pending = pending::read(&session).ok_or(MfaError::NoPendingLogin)?;
        if pending.expires <= unix(self.now()) {
            pending::clear(&session);
            self.emit(MfaEvent::PendingExpired {
                user_id: pending.user,
            });
            return Err(MfaError::NoPendingLogin);
        }
        Ok(pending)
    }

    /// Whether this session has a pending login that has not expired (the user id, as text).
    pub fn pending_user(&self, req: &HttpRequest) -> Option<String> {
        self.pending(req)
            .ok()
            .filter(|pending| !pending.step_up)
            .map(|p| p.user)
    }

    /// The pending login; or, for a login made without a second factor (a password login
    /// before enrolment, a login restored from a remember cookie) of an account that has one,
    /// a step-up of that login, kept in the session like a pending login so that the second
    /// step's forms complete it.
    async fn pending_or_step_up(&self, req: &HttpRequest) -> Result<Pending, MfaError> {
        match self.pending(req) {
            Err(MfaError::NoPendingLogin) => {}
            other => return other,
        }
        let login = Self::login_handle(req).await?;
        let user = login.user_id().ok_or(MfaError::NoPendingLogin)?;
        let methods = login
            .methods()
            .map_err(|error| MfaError::Login(error.to_string()))?;
        if methods.iter().any(AuthMethod::is_second_factor)
            || !self.has_second_factor(&user).await?
        {
            return Err(MfaError::NoPendingLogin);
        }
        let pending = Pending {
            user: user.clone(),
            expires: unix(self.now() + self.inner.config.pending_lifetime),
            remember: false,
            first: Vec::new(),
            next: login.next_url(),
            step_up: true,
        };
        pending::write(&req.get_session(), &pending).map_err(MfaError::Login)?;
        self.emit(MfaEvent::SecondStepStarted { user_id: user });
        Ok(pending)
    }

    /// What the second step offers the session's pending login.
    pub async fn second_step(&self, req: &HttpRequest) -> Result<SecondStep, MfaError> {
        let pending = self.pending_or_step_up(req).await?;
        let store = &self.inner.store;
        Ok(SecondStep {
            totp: store.totp(&pending.user).await?.is_some_and(|t| t.enabled),
            passkey: !store.passkeys(&pending.user).await?.is_empty(),
            recovery_codes: store.recovery_codes_left(&pending.user).await?,
            expires_in: pending.expires.saturating_sub(unix(self.now())),
            step_up: pending.step_up,
        })
    }

    /// Completes the pending login with `factor`: the login is made (fresh, with the first
    /// factor and this one recorded), remember-me applied, the device trusted if asked.
    /// Returns where to go.
    async fn complete(
        &self,
        req: &HttpRequest,
        pending: Pending,
        user: &L::User,
        factor: Factor,
        trust: bool,
    ) -> Result<(String, Option<Cookie<'static>>), MfaError> {
        let login = Self::login_handle(req).await?;
        pending::clear(&req.get_session());
        let given = match factor {
            Factor::Totp => AuthMethod::Totp,
            Factor::RecoveryCode => AuthMethod::RecoveryCode,
            Factor::Passkey => AuthMethod::Passkey,
        };
        if pending.step_up {
            // The login the guard sent here, still the same user's: it gains the factor, its
            // freshness as it was (a code is not a re-entered password).
            if login.user_id().as_deref() != Some(pending.user.as_str()) {
                return Err(MfaError::NoPendingLogin);
            }
            login
                .add_method(given)
                .map_err(|error| MfaError::Login(error.to_string()))?;
        } else {
            let mut methods: Vec<AuthMethod> = pending
                .first
                .iter()
                .filter_map(PendingFactor::method)
                .collect();
            methods.push(given);
            self.log_in(&login, user, pending.remember, &methods)?;
        }
        self.emit(MfaEvent::SecondStepPassed {
            user_id: pending.user.clone(),
            factor,
        });
        let cookie = if trust {
            self.trust_device(req, user).await?
        } else {
            None
        };
        let target = pending
            .next
            .filter(|next| login_runtime::is_safe_next(next))
            .unwrap_or_else(|| self.inner.config.after_login.clone());
        Ok((target, cookie))
    }

    async fn throttled(&self, user_id: &str) -> Result<(), MfaError> {
        let key = format!("mfa:{user_id}");
        if let Some(retry_after) = self
            .inner
            .throttle
            .check(&[&key])
            .await
            .map_err(MfaError::Login)?
        {
            self.emit(MfaEvent::Throttled {
                user_id: user_id.to_owned(),
            });
            return Err(MfaError::Throttled { retry_after });
        }
        Ok(())
    }

    async fn wrong(&self, user_id: &str, factor: Factor, reason: &'static str) -> MfaError {
        let key = format!("mfa:{user_id}");
        if let Err(error) = self.inner.throttle.failed(&[&key]).await {
            return MfaError::Login(error);
        }
        self.emit(MfaEvent::Refused {
            user_id: Some(user_id.to_owned()),
            factor,
            reason,
        });
        MfaError::WrongCode
    }

    /// The second step with a TOTP code. Returns where to go and, if `trust`, the
    /// trusted-device cookie to set.
    pub async fn verify_totp(
        &self,
        req: &HttpRequest,
        code: &str,
        trust: bool,
    ) -> Result<(String, Option<Cookie<'static>>), MfaError> {
        let pending = self.pending_or_step_up(req).await?;
        let user = self
            .load(&pending.user)
            .await?
            .ok_or(MfaError::NoPendingLogin)?;
        self.check_totp(&pending.user, code, true).await?;
        self.complete(req, pending, &user, Factor::Totp, trust)
            .await
    }

    /// Checks a TOTP code of `user_id`: throttled, ±1 step, and never the same step twice.
    async fn check_totp(&self, user_id: &str, code: &str, enabled: bool) -> Result<(), MfaError> {
        self.throttled(user_id).await?;
        let record = self.inner.store.totp(user_id).await?;
        let Some(record) = record.filter(|r| r.enabled == enabled) else {
            return Err(MfaError::NoTotp);
        };
        let secret = self
            .inner
            .keys
            .open_totp(user_id, &record.sealed_secret)
            .ok_or_else(|| MfaError::Internal("the TOTP secret does not decrypt".into()))?;
        let totp = Totp::new(TotpAlgorithm::Sha1, secret, 6);
        let Some(step) = totp.matching_step(code, unix(self.now())) else {
            return Err(self.wrong(user_id, Factor::Totp, "wrong_code").await);
        };
        // No replay: the step is recorded atomically, and a step at or before the last
        // accepted one is refused (the same code, or an older one still inside the skew).
        if !self.inner.store.advance_totp_step(user_id, step).await? {
            return Err(self.wrong(user_id, Factor::Totp, "replayed").await);
        }
        let _ = self
            .inner
            .throttle
            .succeeded(&format!("mfa:{user_id}"))
            .await;
        Ok(())
    }

    /// The second step with a recovery code (single use; the account is told by the
    /// [`MfaEvent::RecoveryCodeUsed`] event).
    pub async fn verify_recovery_code(
        &self,
        req: &HttpRequest,
        code: &str,
    ) -> Result<String, MfaError> {
        let pending = self.pending_or_step_up(req).await?;
        let user = self
            .load(&pending.user)
            .await?
            .ok_or(MfaError::NoPendingLogin)?;
        self.throttled(&pending.user).await?;
        let hash = self.inner.keys.hash_recovery_code(&pending.user, code);
        if !self
            .inner
            .store
            .use_recovery_code(&pending.user, &hash)
            .await?
        {
            return Err(self
                .wrong(&pending.user, Factor::RecoveryCode, "wrong_code")
                .await);
        }
        let remaining = self.inner.store.recovery_codes_left(&pending.user).await?;
        self.emit(MfaEvent::RecoveryCodeUsed {
            user_id: pending.user.clone(),
            remaining,
        });
        let (target, _) = self
            .complete(req, pending, &user, Factor::RecoveryCode, false)
            .await?;
        Ok(target)
    }

    // ----- TOTP enrolment -----

    /// Starts (or restarts) TOTP enrolment of `user`: a new secret, stored encrypted and not
    /// yet enabled. Returns what the page shows (the QR code and the secret).
    pub async fn start_totp(&self, user: &L::User) -> Result<TotpEnrolment, MfaError> {
        let user_id = user.id().to_string();
        if self
            .inner
            .store
            .totp(&user_id)
            .await?
            .is_some_and(|t| t.enabled)
        {
            // Enabled stays enabled until turned off: a new enrolment does not replace it.
            return Err(MfaError::BadRequest(
                "an authenticator app is already set up; turn it off first".into(),
            ));
        }
        let secret: [u8; 20] = rand::random();
        let record = TotpRecord::new(&user_id, self.inner.keys.seal_totp(&user_id, &secret));
        self.inner.store.put_totp(&record).await?;
        let totp = Totp::new(TotpAlgorithm::Sha1, secret.to_vec(), 6);
        let url = totp.otpauth_url(&self.inner.config.site_name, &user.account_name());
        let svg = qr_svg(&url, "QR code to scan with an authenticator app")
            .ok_or_else(|| MfaError::Internal("QR code".into()))?;
        self.emit(MfaEvent::TotpEnrolmentStarted { user_id });
        Ok(TotpEnrolment {
            secret: totp.secret_base32(),
            qr_data_url: format!(
                "data:image/svg+xml;base64,{}",
                base64_encode(svg.as_bytes())
            ),
            otpauth_url: url,
            qr_svg: svg,
        })
    }

    /// Enables the waiting TOTP of `user_id` with its first correct code (which is then used).
    pub async fn confirm_totp(&self, user_id: &str, code: &str) -> Result<(), MfaError> {
        self.check_totp(user_id, code, false).await?;
        let Some(mut record) = self.inner.store.totp(user_id).await? else {
            return Err(MfaError::NoTotp);
        };
        record.enabled = true;
        self.inner.store.put_totp(&record).await?;
        self.emit(MfaEvent::TotpEnabled {
            user_id: user_id.to_owned(),
        });
        Ok(())
    }

    /// Turns TOTP off for `user_id`.
    pub async fn disable_totp(&self, user_id: &str) -> Result<(), MfaError> {
        self.inner.store.delete_totp(user_id).await?;
        self.emit(MfaEvent::TotpDisabled {
            user_id: user_id.to_owned(),
        });
        Ok(())
    }

    // ----- recovery codes -----

    /// A new set of recovery codes for `user_id` (the old set is void): shown once, stored
    /// only as keyed hashes.
    pub async fn generate_recovery_codes(&self, user_id: &str) -> Result<Vec<String>, MfaError> {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
        let codes: Vec<String> = (0..self.inner.config.recovery_codes)
            .map(|_| {
                // 10 characters of 31: about 50 bits each.
                let chars: String = (0..10)
                    .map(|_| {
                        let i = rand::random_range(0..ALPHABET.len());
                        char::from(ALPHABET.get(i).copied().unwrap_or(b'a'))
                    })
                    .collect();
                format!("{}-{}", &chars[..5], &chars[5..])
            })
            .collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|code| self.inner.keys.hash_recovery_code(user_id, code))
            .collect();
        self.inner
            .store
            .replace_recovery_codes(user_id, &hashes)
            .await?;
        self.emit(MfaEvent::RecoveryCodesGenerated {
            user_id: user_id.to_owned(),
            count: codes.len(),
        });
        Ok(codes)
    }

    // ----- passkeys -----

    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<String, MfaError> {
        let id = random_hex(32);
        let state =
            serde_json::to_string(ceremony).map_err(|e| MfaError::Internal(e.to_string()))?;
        self.inner
            .store
            .put_ceremony(
                &id,
                &state,
                self.now() + self.inner.config.ceremony_lifetime,
            )
            .await?;
        Ok(id)
    }

    async fn take_ceremony(&self, id: &str) -> Result<Ceremony, MfaError> {
        let state = self
            .inner
            .store
            .take_ceremony(id, self.now())
            .await?
            .ok_or(MfaError::NoCeremony)?;
        serde_json::from_str(&state).map_err(|_| MfaError::NoCeremony)
    }

    fn passkey_of(record: &PasskeyRecord) -> Result<Passkey, MfaError> {
        serde_json::from_str(&record.passkey).map_err(|e| MfaError::Internal(e.to_string()))
    }

    /// Starts registering a passkey named `name` for `user`: the options for
    /// `navigator.credentials.create` (user verification required), and the ceremony id to
    /// finish with. The route asks for a resident key on top, so the passkey can sign in
    /// without a name.
    pub async fn start_passkey_registration(
        &self,
        user: &L::User,
        name: &str,
    ) -> Result<(String, CreationChallengeResponse), MfaError> {
        let name = valid_name(name)?;
        let user_id = user.id().to_string();
        let existing = self.inner.store.passkeys(&user_id).await?;
        let exclude = existing
            .iter()
            .filter_map(|r| Self::passkey_of(r).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let account = user.account_name();
        let (options, state) = self
            .inner
            .webauthn
            .start_passkey_registration(
                self.inner.keys.user_handle(&user_id),
                &account,
                &account,
                Some(exclude),
            )
            .map_err(|e| MfaError::Internal(e.to_string()))?;
        let id = self
            .put_ceremony(&Ceremony::Register {
                user: user_id,
                name,
                state,
            })
            .await?;
        Ok((id, options))
    }

    /// Finishes registering a passkey of `user_id` with the browser's answer.
    pub async fn finish_passkey_registration(
        &self,
        user_id: &str,
        ceremony: &str,
        credential: &RegisterPublicKeyCredential,
    ) -> Result<PasskeyInfo, MfaError> {
        let Ceremony::Register { user, name, state } = self.take_ceremony(ceremony).await? else {
            return Err(MfaError::NoCeremony);
        };
        if user != user_id {
            return Err(MfaError::NoCeremony);
        }
        let passkey = match self
            .inner
            .webauthn
            .finish_passkey_registration(credential, &state)
        {
            Ok(passkey) => passkey,
            Err(error) => {
                tracing::debug!(target: "login_mfa", %error, "passkey registration refused");
                self.emit(MfaEvent::Refused {
                    user_id: Some(user),
                    factor: Factor::Passkey,
                    reason: "registration_refused",
                });
                return Err(MfaError::PasskeyRefused("registration_refused"));
            }
        };
        let record = PasskeyRecord::new(
            hex::encode(AsRef::<[u8]>::as_ref(passkey.cred_id())),
            user_id,
            &name,
            serde_json::to_string(&passkey).map_err(|e| MfaError::Internal(e.to_string()))?,
            self.now(),
        );
        if !self.inner.store.add_passkey(&record).await? {
            return Err(MfaError::PasskeyExists);
        }
        self.emit(MfaEvent::PasskeyAdded {
            user_id: user_id.to_owned(),
            name,
        });
        Ok(info(&record))
    }

    /// Renames one of the user's passkeys.
    pub async fn rename_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        name: &str,
    ) -> Result<(), MfaError> {
        let name = valid_name(name)?;
        let mut record = self
            .inner
            .store
            .passkey(credential_id)
            .await?
            .filter(|r| r.user_id == user_id)
            .ok_or(MfaError::NoSuchPasskey)?;
        record.name = name.clone();
        if !self.inner.store.update_passkey(&record).await? {
            return Err(MfaError::NoSuchPasskey);
        }
        self.emit(MfaEvent::PasskeyRenamed {
            user_id: user_id.to_owned(),
            name,
        });
        Ok(())
    }

    /// Removes one of the user's passkeys: it signs in no more.
    pub async fn remove_passkey(&self, user_id: &str, credential_id: &str) -> Result<(), MfaError> {
        if !self
            .inner
            .store
            .remove_passkey(user_id, credential_id)
            .await?
        {
            return Err(MfaError::NoSuchPasskey);
        }
        self.emit(MfaEvent::PasskeyRemoved {
            user_id: user_id.to_owned(),
        });
        Ok(())
    }

    /// The user's factors.
    pub async fn overview(&self, user_id: &str) -> Result<SecurityOverview, MfaError> {
        let store = &self.inner.store;
        Ok(SecurityOverview {
            totp: store.totp(user_id).await?.is_some_and(|t| t.enabled),
            recovery_codes: store.recovery_codes_left(user_id).await?,
            passkeys: store.passkeys(user_id).await?.iter().map(info).collect(),
        })
    }

    /// Starts a passkey assertion: as the second factor of the pending login, to make the
    /// current login fresh, or to sign in with no name (discoverable).
    pub(crate) async fn start_assertion(
        &self,
        req: &HttpRequest,
        kind: CeremonyKind,
    ) -> Result<(String, RequestChallengeResponse), MfaError> {
        let webauthn = &self.inner.webauthn;
        let refused = |e: webauthn_rs::prelude::WebauthnError| MfaError::Internal(e.to_string());
        let (ceremony, options) = match kind {
            CeremonyKind::SignIn => {
                let (mut options, state) = webauthn
                    .start_discoverable_authentication()
                    .map_err(refused)?;
                // A button press, not the autofill of a field: modal, not conditional.
                options.mediation = None;
                (Ceremony::SignIn { state }, options)
            }
            CeremonyKind::SecondFactor | CeremonyKind::Reauthenticate => {
                let user = match kind {
                    CeremonyKind::SecondFactor => self.pending_or_step_up(req).await?.user,
                    _ => Self::login_handle(req)
                        .await?
                        .user_id()
                        .ok_or(MfaError::NotLoggedIn)?,
                };
                let passkeys: Vec<Passkey> = self
                    .inner
                    .store
                    .passkeys(&user)
                    .await?
                    .iter()
                    .filter_map(|r| Self::passkey_of(r).ok())
                    .collect();
                if passkeys.is_empty() {
                    return Err(MfaError::NoSuchPasskey);
                }
                let (options, state) = webauthn
                    .start_passkey_authentication(&passkeys)
                    .map_err(refused)?;
                let ceremony = if kind == CeremonyKind::SecondFactor {
                    Ceremony::SecondFactor { user, state }
                } else {
                    Ceremony::Reauthenticate { user, state }
                };
                (ceremony, options)
            }
        };
        let id = self.put_ceremony(&ceremony).await?;
        Ok((id, options))
    }

    /// Finishes a passkey assertion: checks it (signature, origin, user verification, the
    /// counter, that the credential is still registered to the user), then logs in, completes
    /// the pending login, or makes the login fresh. Returns where to go and the trusted-device
    /// cookie if one was asked for.
    pub(crate) async fn finish_assertion(
        &self,
        req: &HttpRequest,
        kind: CeremonyKind,
        ceremony: &str,
        credential: &PublicKeyCredential,
        trust: bool,
    ) -> Result<(String, Option<Cookie<'static>>), MfaError> {
        let ceremony = self.take_ceremony(ceremony).await?;
        let credential_id = hex::encode(credential.get_credential_id());
        let record = self.inner.store.passkey(&credential_id).await?;
        let webauthn = &self.inner.webauthn;
        let (expected_user, result) = match (kind, ceremony) {
            (CeremonyKind::SignIn, Ceremony::SignIn { state }) => {
                let Some(record) = &record else {
                    return Err(self.refuse_passkey(None, "unknown_credential"));
                };
                let passkey = Self::passkey_of(record)?;
                (
                    record.user_id.clone(),
                    webauthn.finish_discoverable_authentication_v2(credential, state, &passkey),
                )
            }
            (CeremonyKind::SecondFactor, Ceremony::SecondFactor { user, state })
            | (CeremonyKind::Reauthenticate, Ceremony::Reauthenticate { user, state }) => {
                let outcome = webauthn.finish_passkey_authentication(credential, &state);
                (user, outcome)
            }
            _ => return Err(MfaError::NoCeremony),
        };
        // The credential must still be registered, to this user: a removed passkey signs
        // in no more, even inside a ceremony started before it was removed.
        let Some(mut record) = record.filter(|r| r.user_id == expected_user) else {
            return Err(self.refuse_passkey(Some(expected_user), "unknown_credential"));
        };
        let result = match result {
            Ok(result) if result.user_verified() => result,
            Ok(_) => return Err(self.refuse_passkey(Some(expected_user), "no_user_verification")),
            Err(error) => {
                tracing::debug!(target: "login_mfa", %error, "passkey assertion refused");
                let reason = match error {
                    webauthn_rs::prelude::WebauthnError::UserNotVerified => "no_user_verification",
                    webauthn_rs::prelude::WebauthnError::InvalidRPOrigin => "wrong_origin",
                    webauthn_rs::prelude::WebauthnError::CredentialPossibleCompromise => {
                        "counter_went_back"
                    }
                    _ => "assertion_refused",
                };
                return Err(self.refuse_passkey(Some(expected_user), reason));
            }
        };
        let mut passkey = Self::passkey_of(&record)?;
        if passkey.update_credential(&result).is_some() {
            record.passkey =
                serde_json::to_string(&passkey).map_err(|e| MfaError::Internal(e.to_string()))?;
        }
        record.last_used = Some(self.now());
        self.inner.store.update_passkey(&record).await?;
        let user = self
            .load(&expected_user)
            .await?
            .ok_or_else(|| self.refuse_passkey(Some(expected_user.clone()), "unknown_user"))?;
        match kind {
            CeremonyKind::SignIn => {
                let login = Self::login_handle(req).await?;
                pending::clear(&req.get_session());
                // A passkey with user verification is both factors.
                self.log_in(&login, &user, false, &[AuthMethod::Passkey])?;
                self.emit(MfaEvent::PasskeySignIn {
                    user_id: expected_user,
                });
                let target = login
                    .next_url()
                    .unwrap_or_else(|| self.inner.config.after_login.clone());
                Ok((target, None))
            }
            CeremonyKind::SecondFactor => {
                let pending = self.pending(req)?;
                if pending.user != expected_user {
                    return Err(MfaError::NoPendingLogin);
                }
                self.complete(req, pending, &user, Factor::Passkey, trust)
                    .await
            }
            CeremonyKind::Reauthenticate => {
                let login = Self::login_handle(req).await?;
                if login.user_id().as_deref() != Some(expected_user.as_str()) {
                    return Err(MfaError::NotLoggedIn);
                }
                // A passkey with user verification is a re-authentication: the login is fresh.
                login
                    .confirm_with(AuthMethod::Passkey)
                    .map_err(|e| MfaError::Login(e.to_string()))?;
                self.emit(MfaEvent::PasskeyReauthenticated {
                    user_id: expected_user,
                });
                let target = login
                    .next_url()
                    .unwrap_or_else(|| self.inner.config.after_login.clone());
                Ok((target, None))
            }
        }
    }

    fn refuse_passkey(&self, user_id: Option<String>, reason: &'static str) -> MfaError {
        self.emit(MfaEvent::Refused {
            user_id,
            factor: Factor::Passkey,
            reason,
        });
        MfaError::PasskeyRefused(reason)
    }

    // ----- trusted devices -----

    fn session_tag(&self, user: &L::User) -> Option<String> {
        user.session_auth_hash()
            .map(|hash| self.inner.keys.app.session_hash_tag(hash))
    }

    /// Trusts this device for `user`: a device registry entry, and the signed cookie that
    /// names it (`None` without a registry).
    async fn trust_device(
        &self,
        req: &HttpRequest,
        user: &L::User,
    ) -> Result<Option<Cookie<'static>>, MfaError> {
        let Some(devices) = &self.inner.devices else {
            return Ok(None);
        };
        let user_id = user.id().to_string();
        let mut device = Device::new(&user_id, self.now()).with_client(req, false);
        // Bound to the password: a password change ends it like every login of the user.
        device.session_tag = self.session_tag(user);
        devices.record(&device).await.map_err(MfaError::Login)?;
        let expires = unix(self.now() + self.inner.config.trust_lifetime);
        let payload = format!("{user_id}.{}.{expires}", device.id);
        let mac = self.inner.keys.trust_mac(&payload);
        let value = format!("{}.{expires}.{mac}", device.id);
        self.emit(MfaEvent::DeviceTrusted { user_id });
        Ok(Some(
            Cookie::build(self.inner.config.trust_cookie.clone(), value)
                .path("/")
                .http_only(true)
                .secure(self.inner.config.secure_cookies)
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::seconds(
                    i64::try_from(self.inner.config.trust_lifetime.as_secs()).unwrap_or(i64::MAX),
                ))
                .finish(),
        ))
    }

    /// Whether the request's trusted-device cookie is valid for `user`: signed by this app,
    /// not expired, and its device entry still there (not logged out, not ended by "log out
    /// everywhere" or a password change).
    pub async fn trusted(&self, req: &HttpRequest, user: &L::User) -> Result<bool, MfaError> {
        let Some(devices) = &self.inner.devices else {
            return Ok(false);
        };
        let Some(cookie) = req.cookie(&self.inner.config.trust_cookie) else {
            return Ok(false);
        };
        let mut parts = cookie.value().splitn(3, '.');
        let (Some(device_id), Some(expires), Some(mac)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Ok(false);
        };
        let user_id = user.id().to_string();
        let payload = format!("{user_id}.{device_id}.{expires}");
        if !self.inner.keys.trust_mac_matches(&payload, mac) {
            return Ok(false);
        }
        if expires
            .parse::<u64>()
            .map_or(true, |e| e <= unix(self.now()))
        {
            return Ok(false);
        }
        let Some(device) = devices.device(device_id).await.map_err(MfaError::Login)? else {
            return Ok(false);
        };
        let tag_ok = match (&device.session_tag, self.session_tag(user)) {
            (None, _) => true,
            (Some(stored), Some(current)) => crate::secrets::same(stored, &current),
            (Some(_), None) => false,
        };
        Ok(device.user_id == user_id && tag_ok)
    }
}

fn valid_name(name: &str) -> Result<String, MfaError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(MfaError::BadName);
    }
    Ok(name.to_owned())
}

fn info(record: &PasskeyRecord) -> PasskeyInfo {
    PasskeyInfo {
        id: record.id.clone(),
        name: record.name.clone(),
        created: unix(record.created),
        last_used: record.last_used.map(unix),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// How long is left, for `Retry-After`.
pub(crate) fn seconds(duration: Duration) -> u64 {
    duration.as_secs().max(1)
}
