//! The hand-off from a first factor to the second: how a password form, a sign-in link or a
//! provider's callback (login-account, login-oidc, the application's own) logs a user in
//! without knowing whether a second factor stands between, and without being able to skip it.
//!
//! A crate that offers the second step (login-mfa) implements [`SecondStepHandler`] and installs it
//! as app data with [`SecondStepGate`]; every first factor calls
//! [`Login::after_first_factor`], which hands the user to it. With no gate installed, an
//! account without a second factor is logged in and one with a second factor
//! ([`UserLoader::has_second_factor`](crate::UserLoader::has_second_factor)) is refused with
//! [`LoginError::NoSecondStep`]: a forgotten gate fails closed, never into a login that skipped
//! the second factor.

use std::rc::Rc;

use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;

use super::Login;
use crate::core::error::LoginError;
use crate::core::methods::AuthMethod;
use crate::core::ops::LoginOptions;
use crate::model::user::AuthUser;

/// A first factor, as handed to the second step.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FirstFactor {
    /// How the user proved who they are: a password, a sign-in link, a provider.
    pub method: AuthMethod,
    /// Whether the visitor asked to be remembered; applied when the login is made (after the
    /// second step, if there is one).
    pub remember: bool,
    /// Where to go once logged in, if the first factor's request named a place (already
    /// checked with [`is_safe_next`](crate::is_safe_next)).
    pub next: Option<String>,
}

impl FirstFactor {
    /// A first factor proved by `method`, not remembered, with no `next`.
    pub fn new(method: AuthMethod) -> Self {
        FirstFactor {
            method,
            remember: false,
            next: None,
        }
    }
    /// Remember the login made from it.
    pub fn remember(mut self, remember: bool) -> Self {
        self.remember = remember;
        self
    }
    /// Go to `next` once logged in; a `next` that [`is_safe_next`](crate::is_safe_next)
    /// refuses is dropped.
    pub fn next(mut self, next: Option<String>) -> Self {
        self.next = next.filter(|next| crate::next::is_safe_next(next));
        self
    }
}

/// What came of a first factor, from [`Login::after_first_factor`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterFirstFactor {
    /// Logged in (the account has no second factor, or the second step let it through, say
    /// on a trusted device).
    LoggedIn,
    /// The account is inactive: nobody was logged in.
    Inactive,
    /// A second factor is needed: nobody is logged in yet, and the visitor goes on to `url`,
    /// the second step's page.
    SecondStep {
        /// The second step's page.
        url: String,
    },
}

/// The second step of a login, as a crate that offers one (login-mfa) implements it.
pub trait SecondStepHandler<U>: 'static {
    /// `user` proved `first`: log them in (with [`Login::login_with`], recording
    /// `first.method`) if no second factor is needed, or keep a pending login that only the
    /// second factor completes. An error is the operator's (a store that is down); it becomes
    /// a 500 and nobody is logged in.
    fn after_first_factor<'a>(
        &'a self,
        req: &'a HttpRequest,
        user: &'a U,
        first: FirstFactor,
    ) -> LocalBoxFuture<'a, Result<AfterFirstFactor, String>>;
}

/// The app data through which [`Login::after_first_factor`] finds the [`SecondStepHandler`] for
/// users of type `U`: `App::new().app_data(SecondStepGate::new(step))`, at the app's root so
/// that every first factor's route sees it.
pub struct SecondStepGate<U>(Rc<dyn SecondStepHandler<U>>);

impl<U> SecondStepGate<U> {
    /// The gate for `step`.
    pub fn new(step: impl SecondStepHandler<U>) -> Self {
        SecondStepGate(Rc::new(step))
    }
}

impl<U> Clone for SecondStepGate<U> {
    fn clone(&self) -> Self {
        SecondStepGate(Rc::clone(&self.0))
    }
}

impl<U> std::fmt::Debug for SecondStepGate<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondStepGate").finish_non_exhaustive()
    }
}

impl<U> Login<U> {
    /// Logs `user` in after a first factor (a password, a sign-in link, a provider), through
    /// the second step when one is installed ([`SecondStepGate`]): an account with a second
    /// factor gets a pending login instead, and the visitor goes on to the second step's page.
    /// Without a gate, an account with a second factor is refused
    /// ([`LoginError::NoSecondStep`]), never logged in without it.
    ///
    /// ```
    /// use actix_web::{HttpResponse, http::header};
    /// use login_runtime::{AfterFirstFactor, AuthMethod, AuthUser, FirstFactor, Login};
    /// # #[derive(Clone)] struct User { id: u32 }
    /// # impl AuthUser for User { type Id = u32; fn id(&self) -> u32 { self.id } }
    ///
    /// async fn password_checked(login: Login<User>, user: User) -> actix_web::Result<HttpResponse> {
    ///     let first = FirstFactor::new(AuthMethod::Password).next(login.next_url());
    ///     Ok(match login.after_first_factor(&user, first).await? {
    ///         AfterFirstFactor::LoggedIn => login.redirect_to_next("/"),
    ///         AfterFirstFactor::SecondStep { url } => {
    ///             HttpResponse::SeeOther().insert_header((header::LOCATION, url)).finish()
    ///         }
    ///         _ => HttpResponse::Forbidden().body("account disabled"),
    ///     })
    /// }
    /// ```
    pub async fn after_first_factor(
        &self,
        user: &U,
        first: FirstFactor,
    ) -> Result<AfterFirstFactor, LoginError>
    where
        U: AuthUser,
    {
        if let Some(gate) = self.req.app_data::<SecondStepGate<U>>() {
            let gate = gate.clone();
            return gate
                .0
                .after_first_factor(&self.req, user, first)
                .await
                .map_err(|error| self.noted(LoginError::SecondStep(error)));
        }
        // No second step here: a second factor the account has must not be skipped.
        if self
            .state
            .backend
            .has_second_factor_ref(user)
            .await
            .map_err(|error| self.noted(error))?
        {
            return Err(self.noted(LoginError::NoSecondStep));
        }
        let options = LoginOptions::new()
            .remember(first.remember)
            .method(first.method);
        Ok(if self.login_with(user, options)? {
            AfterFirstFactor::LoggedIn
        } else {
            AfterFirstFactor::Inactive
        })
    }
}
