//! The application's `UserLoader` with its user type erased, so that guards and the core,
//! which do not know the user type, can run it.

use std::any::{Any, TypeId, type_name};
use std::future::ready;
use std::rc::Rc;

use actix_web::HttpRequest;
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;

use crate::core::config::Config;
use crate::core::error::LoginError;
use crate::model::loader::UserLoader;
use crate::model::user::AuthUser;

/// A user as the type-erased backend hands it over.
pub(crate) struct LoadedUser {
    pub(crate) object: Rc<dyn Any>,
    pub(crate) active: bool,
    /// Reads the user's session auth hash out of `object` (no copy of it is made).
    hash_of: fn(&dyn Any) -> Option<&[u8]>,
}

impl LoadedUser {
    /// The user's session auth hash; only ever compared through keyed tags.
    pub(crate) fn session_hash(&self) -> Option<&[u8]> {
        (self.hash_of)(&*self.object)
    }
}

/// A user's loaded `PermissionSet`, type-erased.
pub(crate) type LoadedPermissions = Rc<dyn Any>;

/// The loader and configuration of one `LoginManager`, with the user type erased.
pub(crate) trait Backend {
    fn config(&self) -> &Config;
    fn user_type_name(&self) -> &'static str;
    fn user_type_id(&self) -> TypeId;
    /// The session auth hash of `user`, an object this backend loaded.
    fn session_hash_of<'a>(&self, user: &'a dyn Any) -> Option<&'a [u8]>;
    /// Parses `id` into the user's id type (an id that does not parse finds nobody) and loads.
    fn load_user(
        self: Rc<Self>,
        id: &str,
    ) -> LocalBoxFuture<'static, Result<Option<LoadedUser>, LoginError>>;
    fn load_user_from_request(
        self: Rc<Self>,
        req: HttpRequest,
    ) -> LocalBoxFuture<'static, Result<Option<(String, LoadedUser)>, LoginError>>;
    /// `UserLoader::has_second_factor` of `user` (an object this backend loaded).
    fn has_second_factor(
        self: Rc<Self>,
        user: Rc<dyn Any>,
    ) -> LocalBoxFuture<'static, Result<bool, LoginError>>;
    /// `UserLoader::has_second_factor` of a user the application holds (a `U` of this
    /// backend's loader; anything else has none).
    fn has_second_factor_ref<'a>(
        &'a self,
        user: &'a dyn Any,
    ) -> LocalBoxFuture<'a, Result<bool, LoginError>>;
    /// `UserLoader::load_permissions` of `user` (an object this backend loaded).
    fn load_permissions(
        self: Rc<Self>,
        user: Rc<dyn Any>,
    ) -> LocalBoxFuture<'static, Result<LoadedPermissions, LoginError>>;
}

/// The session auth hash of `user`, if it is a `U`.
fn session_hash_of<U: AuthUser>(user: &dyn Any) -> Option<&[u8]> {
    user.downcast_ref::<U>()
        .and_then(AuthUser::session_auth_hash)
}

/// A `UserLoader` and the configuration it runs with.
pub(crate) struct LoaderBackend<L> {
    pub(crate) loader: Rc<L>,
    pub(crate) config: Config,
}

impl<L: UserLoader> LoaderBackend<L> {
    fn erase(&self, user: L::User) -> LoadedUser {
        LoadedUser {
            active: user.is_active(),
            hash_of: session_hash_of::<L::User>,
            object: Rc::new(user),
        }
    }
}

impl<L: UserLoader> Backend for LoaderBackend<L> {
    fn config(&self) -> &Config {
        &self.config
    }

    fn user_type_name(&self) -> &'static str {
        type_name::<L::User>()
    }

    fn user_type_id(&self) -> TypeId {
        TypeId::of::<L::User>()
    }

    fn session_hash_of<'a>(&self, user: &'a dyn Any) -> Option<&'a [u8]> {
        session_hash_of::<L::User>(user)
    }

    fn load_user(
        self: Rc<Self>,
        id: &str,
    ) -> LocalBoxFuture<'static, Result<Option<LoadedUser>, LoginError>> {
        // Parsed before the future, so the future owns the parsed id, not a copy of the text.
        let Ok(parsed) = id.parse::<<L::User as AuthUser>::Id>() else {
            // An id that does not parse names nobody.
            tracing::debug!(target: "login_runtime", "stored user id does not parse; treating as anonymous");
            return ready(Ok(None)).boxed_local();
        };
        async move {
            let user = self
                .loader
                .load_user(&parsed)
                .await
                .map_err(|error| LoginError::Loader(format!("{error}")))?;
            Ok(user.map(|user| self.erase(user)))
        }
        .boxed_local()
    }

    fn load_user_from_request(
        self: Rc<Self>,
        req: HttpRequest,
    ) -> LocalBoxFuture<'static, Result<Option<(String, LoadedUser)>, LoginError>> {
        async move {
            let user = self
                .loader
                .load_user_from_request(&req)
                .await
                .map_err(|error| LoginError::Loader(format!("{error}")))?;
            Ok(user.map(|user| (user.id().to_string(), self.erase(user))))
        }
        .boxed_local()
    }

    fn has_second_factor(
        self: Rc<Self>,
        user: Rc<dyn Any>,
    ) -> LocalBoxFuture<'static, Result<bool, LoginError>> {
        async move {
            let Ok(user) = user.downcast::<L::User>() else {
                return Ok(false);
            };
            self.loader
                .has_second_factor(&user)
                .await
                .map_err(|error| LoginError::Loader(format!("{error}")))
        }
        .boxed_local()
    }

    fn has_second_factor_ref<'a>(
        &'a self,
        user: &'a dyn Any,
    ) -> LocalBoxFuture<'a, Result<bool, LoginError>> {
        async move {
            let Some(user) = user.downcast_ref::<L::User>() else {
                return Ok(false);
            };
            self.loader
                .has_second_factor(user)
                .await
                .map_err(|error| LoginError::Loader(format!("{error}")))
        }
        .boxed_local()
    }

    fn load_permissions(
        self: Rc<Self>,
        user: Rc<dyn Any>,
    ) -> LocalBoxFuture<'static, Result<LoadedPermissions, LoginError>> {
        async move {
            let user = user
                .downcast::<L::User>()
                .map_err(|_| LoginError::UserTypeMismatch {
                    requested: type_name::<L::User>(),
                    loaded: "another type",
                })?;
            let permissions = self
                .loader
                .load_permissions(&user)
                .await
                .map_err(|error| LoginError::Loader(format!("{error}")))?;
            Ok(Rc::new(permissions) as LoadedPermissions)
        }
        .boxed_local()
    }
}
