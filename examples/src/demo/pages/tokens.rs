//! API tokens: make one (shown once, stored as its hash), list them, revoke one.

use actix_web::{get, post, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use login_account::Verified;
use login_runtime::{CurrentUser, login_required};
use serde::Deserialize;

use super::frame::{
    AppError, Ctx, Layout, NoFields, PageResult, date_time, form_status, see_other,
};
use crate::demo::audit::AuditEvent;
use crate::demo::auth::{new_api_token, token_hash};
use crate::demo::csrf::CheckedForm;
use crate::demo::db::User;

/// A token as the list shows it.
#[derive(Debug)]
struct TokenRow {
    id: i64,
    label: String,
    created: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    new_token: Option<String>,
    error: Option<String>,
    origin: String,
    tokens: Vec<TokenRow>,
}

async fn tokens_page_for(
    ctx: &mut Ctx,
    user: &User,
    new_token: Option<String>,
    error: Option<String>,
) -> PageResult {
    let tokens = ctx
        .demo
        .db
        .tokens(user.id)
        .await?
        .into_iter()
        .map(|token| TokenRow {
            id: token.id,
            label: token.label,
            created: date_time(token.created_at),
            revoked: token.revoked_at.is_some(),
        })
        .collect();
    let info = ctx.req.connection_info().clone();
    let status = form_status(error.is_some());
    let page = TokensPage {
        layout: ctx.layout_with_flashes("API tokens"),
        new_token,
        error,
        origin: format!("{}://{}", info.scheme(), info.host()),
        tokens,
    };
    ctx.render(status, &page)
}

/// The session key that carries a token just made from the POST to the page that shows it,
/// once (post/redirect/get: reloading the page makes no second token).
const NEW_TOKEN_KEY: &str = "demo_new_token";

#[login_required]
#[get("/tokens")]
pub(super) async fn tokens_page(mut ctx: Ctx, user: CurrentUser<User>) -> PageResult {
    let new_token = ctx
        .session
        .remove_as::<String>(NEW_TOKEN_KEY)
        .and_then(Result::ok);
    tokens_page_for(&mut ctx, &user, new_token, None).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
}

/// A named action of the account flows: an address unconfirmed after the grace period
/// (`account::VERIFICATION_GRACE`) is asked to confirm it first (`Verified`).
#[login_required]
#[post("/tokens")]
pub(super) async fn create_token(
    mut ctx: Ctx,
    user: Verified<User>,
    form: CheckedForm<TokenForm>,
) -> PageResult {
    match issue_token(&ctx, &user, &form.label).await? {
        Ok(token) => {
            // Shown by the next GET of the page, once.
            if ctx.session.insert(NEW_TOKEN_KEY, &token).is_err() {
                FlashMessage::error("The token could not be shown; make another.").send();
            }
            Ok(see_other("/tokens"))
        }
        Err(error) => tokens_page_for(&mut ctx, &user, None, Some(error)).await,
    }
}

/// A new API token for `user`, labelled `label` (trimmed), or what is wrong with the label.
async fn issue_token(
    ctx: &Ctx,
    user: &User,
    label: &str,
) -> Result<Result<String, String>, AppError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 64 {
        return Ok(Err(
            "A token needs a label of 1 to 64 characters.".to_owned()
        ));
    }
    let token = new_api_token();
    let id = ctx
        .demo
        .db
        .create_token(user.id, label, &token_hash(&token))
        .await?;
    ctx.audit(AuditEvent::TokenCreated, &format!("token {id}"))
        .await?;
    Ok(Ok(token))
}

#[login_required]
#[post("/tokens/{id}/revoke")]
pub(super) async fn revoke_token(
    ctx: Ctx,
    user: CurrentUser<User>,
    path: web::Path<i64>,
    _token_checked: CheckedForm<NoFields>,
) -> PageResult {
    let id = path.into_inner();
    if ctx.demo.db.revoke_token(user.id, id).await? {
        ctx.audit(AuditEvent::TokenRevoked, &format!("token {id}"))
            .await?;
        FlashMessage::success("The token is revoked.").send();
    } else {
        FlashMessage::warning("No such active token.").send();
    }
    Ok(see_other("/tokens"))
}
