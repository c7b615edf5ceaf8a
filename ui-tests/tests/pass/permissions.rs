//! Permission guards in every shape: `#[permission_required]` above and below `#[get]`, with
//! `any`/`all`, nested, mixing two permission types of one user, `permission = …` on the
//! login guards, `#[anonymous_required]`, a scope wrapped in `RequirePermission`, and the
//! `Permissions` extractor beside other extractors.

use actix_web::{App, HttpResponse, Responder, get, post, web};
use login_runtime::{
    AuthUser, HasPermission, Permission, Permissions, RequirePermission, Rule, anonymous_required,
    fresh_login_required, login_required, permission_required,
};

#[derive(Debug, Clone, AuthUser)]
pub struct User {
    id: u32,
    admin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perm {
    Admin,
    Edit,
    Publish,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Team {
    Support,
}

impl Permission for Perm {
    type User = User;
}

impl Permission for Team {
    type User = User;
}

impl HasPermission<Perm> for User {
    fn has_permission(&self, permission: &Perm) -> bool {
        self.admin || *permission == Perm::Edit
    }
}

impl HasPermission<Team> for User {}

/// Above the route.
#[permission_required(Perm::Admin)]
#[get("/admin")]
async fn admin() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Below the route, nested rule, with a login view.
#[post("/publish")]
#[permission_required(
    any(Perm::Admin, all(Perm::Edit, Perm::Publish)),
    login_view = "/login"
)]
async fn publish(body: web::Json<String>, permissions: Permissions<User>) -> impl Responder {
    format!("{} {}", body.into_inner(), permissions.has(&Perm::Publish))
}

/// Two permission types of one user in one rule.
#[permission_required(any(Perm::Admin, Team::Support))]
#[get("/tickets")]
pub async fn tickets() -> &'static str {
    "tickets"
}

#[login_required(permission = Perm::Edit)]
#[get("/edit")]
async fn edit() -> &'static str {
    "edit"
}

#[get("/danger")]
#[fresh_login_required(refresh_view = "/reauthenticate", permission = all(Perm::Admin))]
async fn danger() -> &'static str {
    "danger"
}

#[anonymous_required]
#[get("/login")]
async fn login_page() -> &'static str {
    "form"
}

#[get("/signup")]
#[anonymous_required]
async fn signup() -> &'static str {
    "form"
}

/// Not routed by a macro.
#[permission_required(Perm::Edit)]
async fn plain(path: web::Path<u32>) -> String {
    path.into_inner().to_string()
}

pub fn main() {
    let _app = App::new()
        .service(admin)
        .service(publish)
        .service(tickets)
        .service(edit)
        .service(danger)
        .service(login_page)
        .service(signup)
        .service(
            web::scope("/staff")
                .wrap(RequirePermission::new(Rule::any([Perm::Admin, Perm::Edit])))
                .route("/{n}", web::get().to(plain)),
        );
}
