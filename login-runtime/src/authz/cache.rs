//! This request's loaded permissions: one lookup however many guards and extractors ask.

use std::any::{Any, TypeId};
use std::rc::Rc;

use actix_web::{HttpMessage, HttpRequest};
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};

use crate::core::backend::LoadedPermissions;
use crate::core::error::LoginError;
use crate::core::state::RequestState;

/// Kept in the request's extensions; it holds the backend and the user, never the request.
/// It is the loaded permissions of one kind of user (`TypeId` of its user type).
#[derive(Clone)]
struct PermissionCache(
    TypeId,
    Shared<LocalBoxFuture<'static, Result<LoadedPermissions, Rc<LoginError>>>>,
);

/// The permissions `UserLoader::load_permissions` finds for `user`, loaded once per request.
pub(crate) async fn loaded_permissions(
    req: &HttpRequest,
    state: &RequestState,
    user: &Rc<dyn Any>,
) -> Result<Option<LoadedPermissions>, LoginError> {
    let kind = state.backend.user_type_id();
    let cached = req
        .extensions()
        .get::<PermissionCache>()
        .filter(|cache| cache.0 == kind)
        .cloned();
    let cache = match cached {
        Some(cache) => cache,
        None => {
            let backend = Rc::clone(&state.backend);
            let user = Rc::clone(user);
            let future = async move { backend.load_permissions(user).await.map_err(Rc::new) };
            let cache = PermissionCache(kind, future.boxed_local().shared());
            req.extensions_mut().insert(cache.clone());
            cache
        }
    };
    let loaded = cache.1.await.map_err(|error| (*error).clone())?;
    Ok(Some(loaded))
}
