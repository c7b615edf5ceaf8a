//! [`Account`]: the flows of one application, with everything they share (the users, the
//! keyed hash, the token store, the throttles, the mailer, the pages, the events), and the
//! steps every flow takes the same way: issue and check a token, throttle and send a mail.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::time::SystemTime;

use actix_web::HttpRequest;
use login_runtime::throttle::{MemoryThrottleStore, SharedThrottleStore, ThrottleStore};
use login_runtime::{AuthUser, DeviceRegistry, SecretKey};

use crate::clock::Clock;
use crate::services::{DynDevices, ThrottleError, Throttles};

use crate::config::{AccountConfig, ConfigError, Verification};
use crate::error::AccountError;
use crate::events::{AccountEvent, AccountEventSink, ErasedSink, Flow, PENDING};
use crate::form::FormGuard;
use crate::mail::{
    DefaultTemplates, DynMailer, Mail, MailKind, MailTemplates, Mailer, SharedMailer,
};
use crate::pages::Problem;
use crate::pages::{DefaultPages, Pages, SharedPages};
use crate::policy::{PasswordPolicy, PolicyProblem};
use crate::store::{DynTokenStore, MemoryTokenStore, TokenStore};
use crate::token::{
    Binding, Hasher, Purpose, TokenError, TokenRecord, check_state, hashes_equal, looks_like_token,
    normalise_email,
};
use crate::users::{AccountUser, AccountUsers};

type EventCallback = Rc<dyn Fn(&AccountEvent)>;

/// The account flows of one application: email verification, password reset, change of
/// email, sign-in by link or code, and the password policy, for the users an
/// [`AccountUsers`] store keeps.
///
/// Build one per worker (like `LoginManager`) from clones of what the workers share (the
/// stores), and register it with [`configure`](Self::configure) inside the app's
/// `LoginManager` and `SessionMiddleware`: see the crate's documentation for the routes.
pub struct Account<S> {
    pub(crate) users: Rc<S>,
    pub(crate) config: Rc<AccountConfig>,
    pub(crate) hasher: Hasher,
    pub(crate) tokens: Rc<dyn DynTokenStore>,
    throttles: Throttles,
    mailer: SharedMailer,
    templates: Rc<dyn MailTemplates>,
    pub(crate) pages: SharedPages,
    devices: Option<Rc<dyn DynDevices>>,
    on_event: Vec<EventCallback>,
    sinks: Vec<Rc<dyn ErasedSink>>,
    pub(crate) form: FormGuard,
    pub(crate) clock: Clock,
}

impl<S> Clone for Account<S> {
    fn clone(&self) -> Self {
        Account {
            users: self.users.clone(),
            config: self.config.clone(),
            hasher: self.hasher.clone(),
            tokens: self.tokens.clone(),
            throttles: self.throttles.clone(),
            mailer: self.mailer.clone(),
            templates: self.templates.clone(),
            pages: self.pages.clone(),
            devices: self.devices.clone(),
            on_event: self.on_event.clone(),
            sinks: self.sinks.clone(),
            form: self.form.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl<S> fmt::Debug for Account<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("config", &self.config)
            .field("devices", &self.devices.is_some())
            .finish_non_exhaustive()
    }
}

/// What a token is bound to for `user`, besides its purpose.
pub(crate) struct BoundUser<'a> {
    id: String,
    email: &'a str,
    session_hash: &'a [u8],
}

impl<'a> BoundUser<'a> {
    pub(crate) fn of<U: AccountUser>(user: &'a U) -> BoundUser<'a> {
        BoundUser {
            id: user.id().to_string(),
            email: user.email(),
            session_hash: user.session_auth_hash().unwrap_or_default(),
        }
    }

    pub(crate) fn binding<'b>(&'b self, extra: &'b [u8]) -> Binding<'b> {
        Binding {
            user_id: &self.id,
            email: self.email,
            session_hash: self.session_hash,
            extra,
        }
    }
}

impl<S: AccountUsers> Account<S> {
    /// The flows `config` describes, for the users `users` keeps, hashing tokens with `key`
    /// (the app's secret: login-runtime's `SecretKey`; the hashes are domain-separated from
    /// everything login-runtime computes with it), sending mail with `mailer`.
    ///
    /// Defaults: tokens and throttle counters in this process's memory
    /// ([`MemoryTokenStore`], login-runtime's `MemoryThrottleStore`), [`DefaultTemplates`] and
    /// [`DefaultPages`], no device registry, form tokens kept in the session.
    pub fn new(
        config: AccountConfig,
        users: S,
        key: &SecretKey,
        mailer: impl Mailer,
    ) -> Result<Account<S>, ConfigError> {
        let throttle_store = SharedThrottleStore::new(MemoryThrottleStore::default());
        Ok(Account {
            users: Rc::new(users),
            hasher: Hasher::new(key).ok_or(ConfigError::Key)?,
            tokens: Rc::new(MemoryTokenStore::new()),
            throttles: Throttles::new(throttle_store, &config),
            mailer: Rc::new(mailer) as Rc<dyn DynMailer>,
            templates: Rc::new(DefaultTemplates::new(&config.site_name)),
            pages: Rc::new(DefaultPages),
            devices: None,
            on_event: Vec::new(),
            sinks: Vec::new(),
            form: FormGuard::default(),
            clock: Clock::system(),
            config: Rc::new(config),
        })
    }

    /// Keeps tokens in `store` (the app's database) instead of memory.
    pub fn token_store(mut self, store: impl TokenStore) -> Self {
        self.tokens = Rc::new(store);
        self
    }

    /// Keeps the throttles' counters in `store` (login-runtime's `ThrottleStore`: a database
    /// or Redis, shared by every instance) instead of memory.
    pub fn throttle_store(mut self, store: impl ThrottleStore) -> Self {
        self.throttles = Throttles::new(SharedThrottleStore::new(store), &self.config);
        self
    }

    /// Words the mails with `templates` instead of [`DefaultTemplates`].
    pub fn mail_templates(mut self, templates: impl MailTemplates) -> Self {
        self.templates = Rc::new(templates);
        self
    }

    /// Renders the pages with `pages` (the app's layout) instead of [`DefaultPages`].
    pub fn pages(mut self, pages: impl Pages) -> Self {
        self.pages = Rc::new(pages);
        self
    }

    /// Logs out every device of an account in `registry` when its password is reset (the
    /// `LoginManager`'s registry). Its sessions and remember cookies end anyway, with the
    /// password hash they are bound to; the registry then no longer lists them either.
    pub fn device_registry(mut self, registry: impl DeviceRegistry) -> Self {
        self.devices = Some(Rc::new(registry));
        self
    }

    /// Calls `callback` with every [`AccountEvent`] (for an audit log). Events are also always
    /// emitted as `tracing` events.
    pub fn on_event(mut self, callback: impl Fn(&AccountEvent) + 'static) -> Self {
        self.on_event.push(Rc::new(callback));
        self
    }

    /// Hands every [`AccountEvent`] to `sink` as well, awaited before the answer goes out (an
    /// audit row in a database); a sink's error fails the request. See [`AccountEventSink`].
    pub fn event_sink(mut self, sink: impl AccountEventSink) -> Self {
        self.sinks.push(Rc::new(sink));
        self
    }

    /// The app's own form tokens (CSRF): `issue` gives the token the pages put in every form
    /// as `csrf`, `check` whether a posted one is right (in constant time). By default
    /// login-account keeps a token of its own in the session.
    pub fn form_token(
        mut self,
        issue: impl Fn(&HttpRequest) -> String + 'static,
        check: impl Fn(&HttpRequest, &str) -> bool + 'static,
    ) -> Self {
        self.form = FormGuard::new(issue, check);
        self
    }

    /// Reads the time from `clock` (tests of expiry) instead of the system.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AccountConfig {
        &self.config
    }

    /// The password policy, for the app's own sign-up and password forms.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.config.policy
    }

    /// What is wrong with `password` (and its repetition `confirm`) as a new password of
    /// `user` (or, at sign-up, of an account with these `personal_words`), in the words a page
    /// shows.
    pub fn password_problems(
        &self,
        password: &str,
        confirm: &str,
        personal_words: &[&str],
    ) -> Vec<Problem> {
        self.config
            .policy
            .check_new(password, confirm, personal_words)
            .err()
            .unwrap_or_default()
            .iter()
            .map(problem_of)
            .collect()
    }

    /// Whether `user` may log in with a password under the configured
    /// [`Verification`]: `false` only for an unverified account under
    /// [`Verification::Required`].
    pub fn may_log_in(&self, user: &S::User) -> bool {
        user.email_verified() || self.config.verification != Verification::Required
    }

    /// Mails `user` a link to confirm their address (after sign-up, or when they ask again):
    /// throttled per account and per client. Reported as an event either way.
    pub async fn send_verification(
        &self,
        req: &HttpRequest,
        user: &S::User,
    ) -> Result<(), AccountError> {
        let work = async {
            let sent = self.verification_mail(req, user).await;
            match &sent {
                Ok(()) => self.emit(AccountEvent::VerificationSent {
                    user_id: user.id().to_string(),
                }),
                Err(error) => self.report(Flow::Verify, error),
            }
            sent
        };
        let (sent, events) = self.collecting(work).await;
        self.deliver(&events, req)
            .await
            .map_err(|error| AccountError::Events(error.to_string()))?;
        sent
    }

    /// [`send_verification`](Self::send_verification) without its events.
    pub(crate) async fn verification_mail(
        &self,
        req: &HttpRequest,
        user: &S::User,
    ) -> Result<(), AccountError> {
        // Per account, by its address: the key is the same on every instance and database.
        let address = normalise_email(user.email());
        self.throttle(req, Flow::Verify, &format!("address:{address}"))
            .await?;
        self.purge().await?;
        let issued = self.issue(Purpose::VerifyEmail, user, b"", None).await?;
        self.store(&issued.record).await?;
        let link = self.config.link("/verify", &issued.token);
        let valid_for = self.config.lifetime_of(Purpose::VerifyEmail);
        self.send(
            Flow::Verify,
            user.email(),
            &MailKind::Verify {
                link: &link,
                valid_for,
            },
        )
        .await
    }

    // ---- what every flow does the same way ----

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    pub(crate) fn emit(&self, event: AccountEvent) {
        event.trace();
        for callback in &self.on_event {
            callback(&event);
        }
        if self.sinks.is_empty() {
            return;
        }
        // Kept for the sinks until the request has its answer (`delivering`).
        if PENDING
            .try_with(|pending| pending.borrow_mut().push(event))
            .is_err()
        {
            tracing::error!(target: "login_account", "an event outside a request login-account serves reached no event sink");
        }
    }

    /// Runs `work` (a route, or [`send_verification`](Self::send_verification)) keeping the
    /// events it emits for the sinks: its outcome and those events, in order.
    pub(crate) async fn collecting<T>(
        &self,
        work: impl Future<Output = T>,
    ) -> (T, Vec<AccountEvent>) {
        if self.sinks.is_empty() {
            return (work.await, Vec::new());
        }
        PENDING
            .scope(RefCell::new(Vec::new()), async {
                let value = work.await;
                (value, PENDING.with(RefCell::take))
            })
            .await
    }

    /// Hands `events` to every sink, in order, with their request `req`.
    pub(crate) async fn deliver(
        &self,
        events: &[AccountEvent],
        req: &HttpRequest,
    ) -> Result<(), actix_web::Error> {
        for event in events {
            for sink in &self.sinks {
                sink.deliver(event, req).await?;
            }
        }
        Ok(())
    }

    /// Reports a refusal as its event (throttled, mail failed, refused).
    pub(crate) fn report(&self, flow: Flow, error: &AccountError) {
        let event = match error {
            AccountError::Throttled { .. } => AccountEvent::Throttled { flow },
            AccountError::Mail(mail) => AccountEvent::MailFailed {
                flow,
                error: mail.to_string(),
            },
            other => AccountEvent::Refused {
                flow,
                reason: other.code(),
            },
        };
        self.emit(event);
    }

    /// The client's key for the throttles: its address by login-runtime's rule.
    fn client_key(req: &HttpRequest) -> String {
        format!(
            "login-account:client:{}",
            login_runtime::client_address(req).unwrap_or_else(|| "unknown".to_owned())
        )
    }

    /// Refuses when `target` (an address or an account) or the client has had its mails for
    /// this window; otherwise counts this one against both. Known and unknown addresses are
    /// counted alike, so the throttle tells nobody which exist.
    pub(crate) async fn throttle(
        &self,
        req: &HttpRequest,
        flow: Flow,
        target: &str,
    ) -> Result<(), AccountError> {
        let target = format!("login-account:{}:{target}", flow.as_str());
        let client = Self::client_key(req);
        let throttle_error = |error: ThrottleError| AccountError::Throttle(error);
        let address = self
            .throttles
            .per_address
            .check(&[&target])
            .await
            .map_err(throttle_error)?;
        let client_wait = self
            .throttles
            .per_client
            .check(&[&client])
            .await
            .map_err(throttle_error)?;
        if let Some(retry_after) = address.max(client_wait) {
            return Err(AccountError::Throttled { retry_after });
        }
        self.throttles
            .per_address
            .failed(&[&target])
            .await
            .map_err(throttle_error)?;
        self.throttles
            .per_client
            .failed(&[&client])
            .await
            .map_err(throttle_error)
    }

    /// Refuses once the sign-in `lookup` had its wrong codes.
    pub(crate) async fn code_throttled(&self, lookup: &str) -> Result<bool, AccountError> {
        let key = format!("login-account:code:{lookup}");
        let wait = self
            .throttles
            .per_code
            .check(&[&key])
            .await
            .map_err(AccountError::Throttle)?;
        Ok(wait.is_some())
    }

    /// Counts a wrong code against the sign-in `lookup`.
    pub(crate) async fn code_failed(&self, lookup: &str) -> Result<(), AccountError> {
        let key = format!("login-account:code:{lookup}");
        self.throttles
            .per_code
            .failed(&[&key])
            .await
            .map_err(AccountError::Throttle)
    }

    /// Renders `mail` and sends it to `to`.
    pub(crate) async fn send(
        &self,
        flow: Flow,
        to: &str,
        mail: &MailKind<'_>,
    ) -> Result<(), AccountError> {
        let content = self.templates.render(mail)?;
        let sent = self.mailer.send(&Mail::new(to, content)).await;
        if let Err(error) = &sent {
            tracing::warn!(target: "login_account", flow = flow.as_str(), mail = mail.name(), %error, "mail not sent");
        }
        Ok(sent?)
    }

    /// Issues and stores a token of `purpose` for `user`, bound to `extra` too.
    pub(crate) async fn issue(
        &self,
        purpose: Purpose,
        user: &S::User,
        extra: &[u8],
        data: Option<String>,
    ) -> Result<crate::token::Issued, AccountError> {
        let now = self.now();
        let bound = BoundUser::of(user);
        let mut issued = self.hasher.issue(
            purpose,
            bound.binding(extra),
            now,
            self.config.lifetime_of(purpose),
        );
        issued.record.data = data;
        Ok(issued)
    }

    /// Removes expired tokens. Every request for a mail does it, for an address with an
    /// account or without, so both cost the same; the store holds about one lifetime's worth.
    pub(crate) async fn purge(&self) -> Result<(), AccountError> {
        self.tokens.purge_expired(self.now()).await?;
        Ok(())
    }

    /// Makes and stores a token of `purpose` for no account, expired at once (the next
    /// request's purge removes it), and drops the token: for an address without an account,
    /// the same work as for one with (a token made, hashed and written), so that the time
    /// does not tell them apart.
    pub(crate) async fn store_decoy(
        &self,
        purpose: Purpose,
        address: &str,
    ) -> Result<(), AccountError> {
        let nobody = Binding {
            user_id: "",
            email: address,
            session_hash: b"",
            extra: b"",
        };
        let decoy = self
            .hasher
            .issue(purpose, nobody, self.now(), std::time::Duration::ZERO);
        self.store(&decoy.record).await
    }

    /// Stores an issued token.
    pub(crate) async fn store(&self, record: &TokenRecord) -> Result<(), AccountError> {
        Ok(self.tokens.insert(record).await?)
    }

    /// The stored token `token` names (used or not): refused as unknown when it has not the
    /// form of a token or is not stored.
    pub(crate) async fn find(&self, token: &str) -> Result<TokenRecord, AccountError> {
        if !looks_like_token(token) {
            return Err(TokenError::Unknown.into());
        }
        let hash = self.hasher.token_hash(token);
        let record = self.tokens.find(&hash).await?.ok_or(TokenError::Unknown)?;
        // Constant-time compare, whatever the store's lookup did (a case-insensitive index).
        if !hashes_equal(&record.hash, &hash) {
            return Err(TokenError::Unknown.into());
        }
        Ok(record)
    }

    /// The account `record` belongs to, if the token is still bound to it as it is now.
    pub(crate) async fn bound_user(
        &self,
        record: &TokenRecord,
        extra: &[u8],
    ) -> Result<S::User, AccountError> {
        let user = self.owner(record).await?;
        let bound = BoundUser::of(&user);
        self.hasher.check_binding(record, bound.binding(extra))?;
        Ok(user)
    }

    /// The account `record` was issued to; a token of a deleted account is stale.
    pub(crate) async fn owner(&self, record: &TokenRecord) -> Result<S::User, AccountError> {
        let Ok(id) = record.user_id.parse::<<S::User as AuthUser>::Id>() else {
            return Err(TokenError::Stale.into());
        };
        self.users
            .by_id(&id)
            .await
            .map_err(|error| AccountError::Users(error.to_string()))?
            .ok_or_else(|| TokenError::Stale.into())
    }

    /// `record` is of `purpose`, unused and unexpired, and bound to its account as it is now:
    /// that account.
    pub(crate) async fn usable(
        &self,
        record: &TokenRecord,
        purpose: Purpose,
        extra: &[u8],
    ) -> Result<S::User, AccountError> {
        check_state(record, purpose, self.now())?;
        self.bound_user(record, extra).await
    }

    /// Uses `record` up, atomically: of two concurrent uses, one is refused as used.
    pub(crate) async fn consume(&self, record: &TokenRecord) -> Result<(), AccountError> {
        let before = self
            .tokens
            .consume(&record.hash, self.now())
            .await?
            .ok_or(TokenError::Unknown)?;
        if before.used_at.is_some() {
            return Err(TokenError::Used.into());
        }
        Ok(())
    }

    pub(crate) async fn users_call<T, E: fmt::Display>(
        &self,
        call: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, AccountError> {
        call.await
            .map_err(|error| AccountError::Users(error.to_string()))
    }

    /// Logs out every device of `user_id` in the registry, if there is one.
    pub(crate) async fn end_devices(&self, user_id: &str) -> Result<usize, AccountError> {
        match &self.devices {
            Some(devices) => devices
                .revoke_all(user_id)
                .await
                .map_err(AccountError::Devices),
            None => Ok(0),
        }
    }

    /// The personal words a new password of `user` must not contain.
    pub(crate) fn words_of(user: &S::User) -> Vec<&str> {
        let mut words = user.personal_words();
        words.push(user.email());
        words
    }
}

/// A policy problem as a page shows it.
pub(crate) fn problem_of(problem: &PolicyProblem) -> Problem {
    Problem::new(problem.code(), problem.to_string())
}
