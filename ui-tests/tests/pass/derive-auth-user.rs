//! `derive(AuthUser)` on named, tuple and generic structs, with every field attribute.

use login_runtime::AuthUser;

#[derive(AuthUser)]
struct Named {
    id: u64,
    #[allow(dead_code)]
    name: String,
}

#[derive(AuthUser)]
struct Marked {
    /// A field named `id` loses to the marked one.
    #[allow(dead_code)]
    id: String,
    #[auth(id)]
    key: String,
    #[auth(active)]
    enabled: bool,
    #[auth(session_hash)]
    password_hash: String,
}

#[derive(AuthUser)]
struct Tuple(
    #[auth(session_hash)] [u8; 4],
    #[auth(id)] u32,
    #[auth(active)] ::core::primitive::bool,
);

#[derive(AuthUser)]
struct OptionalStamp {
    id: i32,
    #[auth(session_hash)]
    stamp: Option<Vec<u8>>,
}

#[derive(AuthUser)]
struct Generic<I, T: Default>
where
    T: Clone,
{
    #[auth(id)]
    id: I,
    #[allow(dead_code)]
    extra: T,
}

pub(crate) fn main() {
    let named = Named {
        id: 7,
        name: String::new(),
    };
    assert_eq!(named.id(), 7);
    assert!(named.is_active() && named.is_authenticated() && !named.is_anonymous());
    assert_eq!(named.session_auth_hash(), None);

    let marked = Marked {
        id: "ignored".into(),
        key: "k".into(),
        enabled: false,
        password_hash: "h".into(),
    };
    assert_eq!(marked.id(), "k");
    assert!(!marked.is_active());
    assert_eq!(marked.session_auth_hash(), Some(&b"h"[..]));

    let tuple = Tuple(*b"salt", 3, true);
    assert_eq!(tuple.id(), 3);
    assert!(tuple.is_active());
    assert_eq!(tuple.session_auth_hash(), Some(&b"salt"[..]));

    assert_eq!(
        OptionalStamp { id: 1, stamp: None }.session_auth_hash(),
        None
    );
    assert_eq!(
        OptionalStamp {
            id: 1,
            stamp: Some(vec![1])
        }
        .session_auth_hash(),
        Some(&[1][..])
    );

    let generic: Generic<u16, String> = Generic {
        id: 9,
        extra: String::new(),
    };
    let id: <Generic<u16, String> as AuthUser>::Id = generic.id();
    assert_eq!(id, 9);
}
