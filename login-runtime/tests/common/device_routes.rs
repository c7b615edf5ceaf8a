//! The device routes the devices tests share (with or without Redis): log out others, all,
//! or one device, and the current device's id.

use actix_web::web;
use login_runtime::Devices;

pub fn device_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/device",
        web::get().to(|devices: Devices| async move { devices.current().unwrap_or_default() }),
    )
    .route(
        "/revoke/{id}",
        web::get().to(|devices: Devices, id: web::Path<String>| async move {
            let revoked = devices.revoke(&id).await?;
            Ok::<_, actix_web::Error>(revoked.to_string())
        }),
    )
    .route(
        "/revoke-others",
        web::get().to(|devices: Devices| async move {
            Ok::<_, actix_web::Error>(devices.revoke_others().await?.to_string())
        }),
    )
    .route(
        "/revoke-all",
        web::get().to(|devices: Devices| async move {
            Ok::<_, actix_web::Error>(devices.revoke_all().await?.to_string())
        }),
    );
}
