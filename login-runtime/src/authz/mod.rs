//! Authorization: the check the guards run after the login (and freshness) check, the
//! per-request cache of permissions loaded by `UserLoader::load_permissions`, the scope
//! middleware [`RequirePermission`] and the [`Permissions`] extractor. The vocabulary
//! (`Permission`, `HasPermission`, `PermissionSet`, `Rule`) is the model's; the 403 (or
//! opt-in 404) is the responses module's.

pub(crate) mod cache;
pub(crate) mod check;
pub(crate) mod extractor;
pub(crate) mod scope;

pub use self::check::{authorize, authorize_check};
pub use self::extractor::Permissions;
pub use self::scope::{RequirePermission, RequirePermissionMiddleware};
