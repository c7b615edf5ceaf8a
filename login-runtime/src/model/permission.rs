//! The permission vocabulary: the app's own permission types, the rule a guard asks for, and
//! the type-erased check the guards run on a loaded user.
//!
//! Permissions are values of the app's own type, never strings, so a misspelt or wrong-typed
//! permission is a compile error. A permission type names the user type that holds it
//! ([`Permission::User`]); the guard is generic over the permission and finds the user type
//! through it, and the user answers with [`HasPermission`].
//!
//! [`UserLoader::load_permissions`](crate::UserLoader::load_permissions): crate::UserLoader::load_permissions

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use crate::model::user::AuthUser;

/// A permission type: the app's own type (usually a `Copy` enum), naming the user type whose
/// permissions its values are.
///
/// ```
/// use login_runtime::{AuthUser, HasPermission, Permission};
///
/// #[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// enum Perm { ReadReports, Admin }
///
/// #[derive(Clone, AuthUser)]
/// struct User { id: u32, is_admin: bool }
///
/// impl Permission for Perm {
///     type User = User;
/// }
///
/// impl HasPermission<Perm> for User {
///     fn has_permission(&self, permission: &Perm) -> bool {
///         match permission {
///             Perm::ReadReports => true,
///             Perm::Admin => self.is_admin,
///         }
///     }
/// }
/// # let _ = User { id: 1, is_admin: false };
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a permission type",
    label = "not a permission type",
    note = "permissions are the app's own type, usually an enum: `impl login_runtime::Permission for {Self} {{ type User = YourUser; }}` and `impl login_runtime::HasPermission<{Self}> for YourUser`"
)]
pub trait Permission: Sized + PartialEq + 'static {
    /// The login user type that holds permissions of this type.
    type User: HasPermission<Self>;

    /// What the guard attributes build a permission into. Through this trait's own method,
    /// a value of a type that is not a permission type is one error, on the value.
    #[doc(hidden)]
    fn __check(self) -> Check {
        Check::one(self)
    }
}

/// How a user answers whether it holds a permission, from the user as loaded (permissions
/// kept with the user cost no extra query). The default answers `false`, leaving everything
/// to [`UserLoader::load_permissions`](crate::UserLoader::load_permissions), for permissions kept elsewhere.
#[diagnostic::on_unimplemented(
    message = "`{P}` is not a permission type of `{Self}`",
    label = "`{Self}` does not implement `HasPermission<{P}>`",
    note = "implement `login_runtime::HasPermission<{P}>` for `{Self}` (an empty impl leaves the answer to `UserLoader::load_permissions`)"
)]
pub trait HasPermission<P>: AuthUser {
    /// Whether this user holds `permission`.
    fn has_permission(&self, permission: &P) -> bool {
        let _ = permission;
        false
    }
}

/// Permissions of a user `U` that [`UserLoader::load_permissions`](crate::UserLoader::load_permissions) found outside the user
/// (another table, a policy service). Holds values of any of `U`'s permission types.
///
/// ```
/// use login_runtime::{AuthUser, HasPermission, Permission, PermissionSet};
/// # #[derive(Clone, AuthUser)] struct User { id: u32 }
/// #[derive(Debug, PartialEq)]
/// enum Perm { Edit, Publish }
/// impl Permission for Perm { type User = User; }
/// impl HasPermission<Perm> for User {}
///
/// let set: PermissionSet<User> = [Perm::Edit].into_iter().collect();
/// assert!(set.contains(&Perm::Edit));
/// assert!(!set.contains(&Perm::Publish));
/// ```
pub struct PermissionSet<U> {
    /// `TypeId` of a permission type → `Vec` of its values.
    by_type: HashMap<TypeId, Box<dyn Any>>,
    user: PhantomData<fn() -> U>,
}

impl<U: AuthUser> PermissionSet<U> {
    /// No permissions.
    pub fn new() -> Self {
        PermissionSet {
            by_type: HashMap::new(),
            user: PhantomData,
        }
    }

    /// Adds `permission`.
    pub fn insert<P: Permission<User = U>>(&mut self, permission: P) {
        let values = self
            .by_type
            .entry(TypeId::of::<P>())
            .or_insert_with(|| Box::new(Vec::<P>::new()));
        if let Some(values) = values.downcast_mut::<Vec<P>>()
            && !values.contains(&permission)
        {
            values.push(permission);
        }
    }

    /// Whether `permission` is in the set.
    pub fn contains<P: Permission<User = U>>(&self, permission: &P) -> bool {
        self.by_type
            .get(&TypeId::of::<P>())
            .and_then(|values| values.downcast_ref::<Vec<P>>())
            .is_some_and(|values| values.contains(permission))
    }

    /// Whether the set holds no permission.
    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty()
    }
}

impl<U: AuthUser> Default for PermissionSet<U> {
    fn default() -> Self {
        Self::new()
    }
}

impl<U> fmt::Debug for PermissionSet<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermissionSet")
            .field("user", &type_name::<U>())
            .field("types", &self.by_type.len())
            .finish()
    }
}

impl<U: AuthUser, P: Permission<User = U>> Extend<P> for PermissionSet<U> {
    fn extend<I: IntoIterator<Item = P>>(&mut self, permissions: I) {
        for permission in permissions {
            self.insert(permission);
        }
    }
}

impl<U: AuthUser, P: Permission<User = U>> FromIterator<P> for PermissionSet<U> {
    fn from_iter<I: IntoIterator<Item = P>>(permissions: I) -> Self {
        let mut set = PermissionSet::new();
        set.extend(permissions);
        set
    }
}

/// Which permissions a guard asks for: one, any of several, or all of several (nested as
/// deep as needed). The attributes build it from `Perm::A`, `any(..)` and `all(..)`;
/// [`RequirePermission`](crate::RequirePermission) takes one directly.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Rule<P> {
    /// This permission.
    One(P),
    /// At least one of these rules.
    Any(Vec<Rule<P>>),
    /// Every one of these rules.
    All(Vec<Rule<P>>),
}

impl<P: Permission> Rule<P> {
    /// Requires `permission`.
    pub fn one(permission: P) -> Self {
        Rule::One(permission)
    }

    /// Requires at least one of `rules`; an empty list is never satisfied.
    pub fn any(rules: impl IntoIterator<Item = impl Into<Rule<P>>>) -> Self {
        Rule::Any(rules.into_iter().map(Into::into).collect())
    }

    /// Requires every one of `rules`; an empty list is never satisfied either, so that a
    /// rule built from an empty list fails closed.
    pub fn all(rules: impl IntoIterator<Item = impl Into<Rule<P>>>) -> Self {
        Rule::All(rules.into_iter().map(Into::into).collect())
    }

    pub(crate) fn holds(&self, held: &mut impl FnMut(&P) -> bool) -> bool {
        match self {
            Rule::One(permission) => held(permission),
            Rule::Any(rules) => rules.iter().any(|rule| rule.holds(held)),
            // Fail closed: `all()` of nothing grants nothing.
            Rule::All(rules) => !rules.is_empty() && rules.iter().all(|rule| rule.holds(held)),
        }
    }
}

impl<P: Permission> From<P> for Rule<P> {
    fn from(permission: P) -> Self {
        Rule::One(permission)
    }
}

/// The user type a permission belongs to, for the guards' compile-time check that it is
/// the kind of user they admit.
#[doc(hidden)]
#[derive(Debug)]
pub struct PermissionHolder<U>(PhantomData<fn() -> U>);

/// The user type `permission` belongs to.
#[doc(hidden)]
pub fn permission_holder<P: Permission>(permission: &P) -> PermissionHolder<P::User> {
    let _ = permission;
    PermissionHolder(PhantomData)
}

/// A guard admits the kind of user its permissions belong to.
#[diagnostic::on_unimplemented(
    message = "the guard admits `{Self}`, but this permission is one of `{U}`",
    label = "a permission of `{U}`",
    note = "a guard's permissions belong to the kind of user it admits: use a permission of `{Self}`, or guard the handler with `user = {U}`"
)]
pub trait AdmitsHolder<U> {}

impl<T> AdmitsHolder<T> for T {}

impl<U> PermissionHolder<U> {
    /// Checks at compile time that `Guarded` is `U`.
    pub fn admitted_by<Guarded: AdmitsHolder<U>>(self) {}
}

/// A permission rule with its permission types erased: what the guards run. The attributes
/// build it leaf by leaf (so `any(..)` may mix permission types of one user), the public API
/// from a [`Rule`].
#[doc(hidden)]
pub struct Check(Node);

enum Node {
    One(Box<dyn Leaf>),
    Any(Vec<Check>),
    All(Vec<Check>),
}

trait Leaf {
    /// Whether `user` holds this permission, itself or in `loaded`; `Err` with the type the
    /// permission needs when `user` is another type.
    fn held(&self, user: &dyn Any, loaded: Option<&dyn Any>) -> Result<bool, &'static str>;
    /// The type of the user that holds this permission, and its name.
    fn user(&self) -> (TypeId, &'static str);
}

struct Typed<P>(P);

impl<P: Permission> Leaf for Typed<P> {
    fn held(&self, user: &dyn Any, loaded: Option<&dyn Any>) -> Result<bool, &'static str> {
        let user = user
            .downcast_ref::<P::User>()
            .ok_or(type_name::<P::User>())?;
        Ok(user.has_permission(&self.0)
            || loaded
                .and_then(|loaded| loaded.downcast_ref::<PermissionSet<P::User>>())
                .is_some_and(|set| set.contains(&self.0)))
    }

    fn user(&self) -> (TypeId, &'static str) {
        (TypeId::of::<P::User>(), type_name::<P::User>())
    }
}

impl Check {
    /// The type of the user whose permissions this checks (its first permission's), and its
    /// name: which kind of user's login the check is made on. `None` for an empty rule.
    pub(crate) fn user(&self) -> Option<(TypeId, &'static str)> {
        match &self.0 {
            Node::One(leaf) => Some(leaf.user()),
            Node::Any(checks) | Node::All(checks) => checks.iter().find_map(Check::user),
        }
    }

    /// One permission.
    pub fn one<P: Permission>(permission: P) -> Self {
        Check(Node::One(Box::new(Typed(permission))))
    }

    /// At least one of `checks`.
    pub fn any<const N: usize>(checks: [Check; N]) -> Self {
        Check(Node::Any(checks.into()))
    }

    /// Every one of `checks`.
    pub fn all<const N: usize>(checks: [Check; N]) -> Self {
        Check(Node::All(checks.into()))
    }

    /// Whether `user` satisfies the check, from itself or the `loaded` [`PermissionSet`];
    /// `Err` with the user type a permission needs when `user` is another type.
    pub(crate) fn holds(
        &self,
        user: &dyn Any,
        loaded: Option<&dyn Any>,
    ) -> Result<bool, &'static str> {
        match &self.0 {
            Node::One(leaf) => leaf.held(user, loaded),
            Node::Any(checks) => {
                for check in checks {
                    if check.holds(user, loaded)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            // Fail closed: `all` of nothing grants nothing.
            Node::All(checks) if checks.is_empty() => Ok(false),
            Node::All(checks) => {
                for check in checks {
                    if !check.holds(user, loaded)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }
}

impl<P: Permission> From<Rule<P>> for Check {
    fn from(rule: Rule<P>) -> Self {
        match rule {
            Rule::One(permission) => Check::one(permission),
            Rule::Any(rules) => Check(Node::Any(rules.into_iter().map(Check::from).collect())),
            Rule::All(rules) => Check(Node::All(rules.into_iter().map(Check::from).collect())),
        }
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Node::One(_) => f.write_str("Check::One"),
            Node::Any(checks) => f.debug_tuple("Check::Any").field(checks).finish(),
            Node::All(checks) => f.debug_tuple("Check::All").field(checks).finish(),
        }
    }
}
