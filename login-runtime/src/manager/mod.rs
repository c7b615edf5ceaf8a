//! The top: [`LoginManager`], the builder users configure ([`builder`]), and the middleware
//! it becomes ([`middleware`]).

pub(crate) mod builder;
pub(crate) mod middleware;

pub use self::builder::LoginManager;
pub use self::middleware::LoginMiddleware;
