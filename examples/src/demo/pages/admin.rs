//! The admin page: every user and the latest audit entries, for [`Perm::Admin`] only.

use std::collections::HashMap;

use actix_web::get;
use actix_web::http::StatusCode;
use askama::Template;
use login_runtime::permission_required;

use super::frame::{Ctx, Layout, PageResult, date, date_time};
use crate::demo::audit::AuditEvent;
use crate::demo::auth::Perm;
use crate::demo::db;

#[derive(Debug)]
struct UserRow {
    id: i64,
    name: String,
    display_name: String,
    is_admin: bool,
    enabled: bool,
    since: String,
}

#[derive(Debug)]
struct AuditRow {
    when: String,
    /// What the event is called, and its code in the table.
    event: String,
    code: String,
    /// The user's name (the id of an account deleted since).
    user: String,
    client: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    users: Vec<UserRow>,
    audit: Vec<AuditRow>,
}

/// Admins only. A visitor is sent to the login form; a member without [`Perm::Admin`] gets
/// the 403 page (login-runtime's, in the site's layout: [`error_pages`](super::error_pages)) and an audit entry
/// (`LoginEvent::Forbidden`), before this handler or any of its extractors runs.
#[permission_required(Perm::Admin, second_factor)]
#[get("/admin")]
pub(super) async fn admin(mut ctx: Ctx) -> PageResult {
    let users: Vec<UserRow> = ctx
        .demo
        .db
        .users()
        .await?
        .into_iter()
        .map(|user| UserRow {
            since: date(user.created_at),
            id: user.id,
            name: user.name,
            display_name: user.display_name,
            is_admin: user.is_admin,
            enabled: user.enabled,
        })
        .collect();
    let names: HashMap<i64, &str> = users
        .iter()
        .map(|user| (user.id, user.name.as_str()))
        .collect();
    let audit = ctx
        .demo
        .db
        .recent_audit(50)
        .await?
        .into_iter()
        .map(|entry: db::AuditEntry| AuditRow {
            when: date_time(entry.at),
            event: AuditEvent::from_code(&entry.event)
                .map_or_else(|| entry.event.clone(), |event| event.label().to_owned()),
            code: entry.event,
            user: entry
                .user_id
                .map(|id| match names.get(&id) {
                    Some(name) => (*name).to_owned(),
                    None => format!("#{id}"),
                })
                .unwrap_or_default(),
            client: entry.client,
            detail: entry.detail,
        })
        .collect();
    let page = AdminPage {
        layout: ctx.layout_with_flashes("Admin"),
        users,
        audit,
    };
    ctx.render(StatusCode::OK, &page)
}
