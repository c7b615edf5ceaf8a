//! Two kinds of user: guards that name theirs with `user = ..`, or through their extractors,
//! with `#[get]` above and below, a permission of the staff kind, and the anonymous-only
//! guard of one kind.
use actix_web::{App, HttpResponse, get};
use login_runtime::{
    AuthUser, CurrentUser, HasPermission, Login, MaybeUser, Permission, anonymous_required,
    login_required, permission_required,
};

#[derive(Debug, Clone, AuthUser)]
pub struct Customer {
    id: u32,
}

#[derive(Debug, Clone, AuthUser)]
pub struct Staff {
    id: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffPerm {
    Refunds,
}

impl Permission for StaffPerm {
    type User = Staff;
}

impl HasPermission<StaffPerm> for Staff {}

#[login_required]
#[get("/orders")]
async fn orders(customer: CurrentUser<Customer>) -> HttpResponse {
    HttpResponse::Ok().body(customer.id.to_string())
}

#[get("/desk")]
#[login_required(user = Staff)]
async fn desk(staff: CurrentUser<Staff>, login: Login<Staff>) -> HttpResponse {
    let _ = login;
    HttpResponse::Ok().body(staff.id.to_string())
}

#[login_required(user = Staff, permission = StaffPerm::Refunds)]
#[get("/refunds")]
async fn refunds() -> HttpResponse {
    HttpResponse::Ok().finish()
}

#[permission_required(StaffPerm::Refunds)]
#[get("/report")]
async fn report(staff: CurrentUser<Staff>, customer: MaybeUser<Staff>) -> HttpResponse {
    let _ = customer;
    HttpResponse::Ok().body(staff.id.to_string())
}

#[anonymous_required(user = Staff)]
#[get("/staff/login")]
async fn staff_login(customer: MaybeUser<Customer>) -> HttpResponse {
    HttpResponse::Ok().body(customer.is_anonymous().to_string())
}

pub fn main() {
    let _ = App::new()
        .service(orders)
        .service(desk)
        .service(refunds)
        .service(report)
        .service(staff_login);
}
