//! The devices page: every signed-in login of the member (created, last seen, address,
//! browser), "log out" for one of them and "log out all other devices". The registry behind
//! it is configured in [`login_manager`](super::auth::login_manager): logging a device out ends its
//! session and its remember cookie at once, on every worker (and, with Redis, every instance).

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::{get, post, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use login_runtime::{Device, Devices, login_required};

use super::audit::AuditEvent;
use super::csrf::CheckedForm;
use super::pages::{Ctx, Layout, NoFields, PageResult, date_time, see_other};

/// The routes of the devices page.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(devices_page)
        .service(log_out_device)
        .service(log_out_other_devices);
}

/// A device as the list shows it.
#[derive(Debug)]
struct DeviceRow {
    id: String,
    created: String,
    last_seen: String,
    address: String,
    browser: String,
    current: bool,
}

fn unix(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
    })
}

/// A short name for a User-Agent: the browser and the system when they are recognised,
/// else the registry's summary itself.
fn browser_name(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent else {
        return "unknown browser".to_owned();
    };
    // Order matters: Edge names Chrome and Safari too, Chrome names Safari.
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(mark, _)| agent.contains(mark));
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(mark, _)| agent.contains(mark));
    match (browser, system) {
        (Some((_, browser)), Some((_, system))) => format!("{browser} on {system}"),
        (Some((_, browser)), None) => browser.to_owned(),
        _ => agent.to_owned(),
    }
}

fn row(device: Device, current: Option<&str>) -> DeviceRow {
    DeviceRow {
        current: current == Some(device.id.as_str()),
        created: date_time(unix(device.created)),
        last_seen: date_time(unix(device.last_seen)),
        address: device.address.unwrap_or_else(|| "unknown".to_owned()),
        browser: browser_name(device.user_agent.as_deref()),
        id: device.id,
    }
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    layout: Layout,
    devices: Vec<DeviceRow>,
}

/// Members only: their signed-in devices, this one marked.
#[login_required]
#[get("/devices")]
async fn devices_page(mut ctx: Ctx, devices: Devices) -> PageResult {
    let current = devices.current();
    let devices = devices
        .list()
        .await?
        .into_iter()
        .map(|device| row(device, current.as_deref()))
        .collect();
    let page = DevicesPage {
        layout: ctx.layout_with_flashes("Devices"),
        devices,
    };
    ctx.render(StatusCode::OK, &page)
}

/// Logs out one of the member's devices (this one too, if asked).
#[login_required]
#[post("/devices/{id}/logout")]
async fn log_out_device(
    ctx: Ctx,
    devices: Devices,
    path: web::Path<String>,
    _token_checked: CheckedForm<NoFields>,
) -> PageResult {
    let id = path.into_inner();
    let this_one = devices.current().as_deref() == Some(id.as_str());
    // Only the member's own devices: another user's id is "no such device".
    if !devices.revoke(&id).await? {
        FlashMessage::warning("No such signed-in device.").send();
        return Ok(see_other("/devices"));
    }
    ctx.audit(AuditEvent::DeviceLoggedOut, "").await?;
    if this_one {
        FlashMessage::info("You are logged out.").send();
        return Ok(see_other("/"));
    }
    FlashMessage::success("The device is logged out.").send();
    Ok(see_other("/devices"))
}

/// "Log out all other devices": this one stays logged in.
#[login_required]
#[post("/devices/log-out-others")]
async fn log_out_other_devices(
    ctx: Ctx,
    devices: Devices,
    _token_checked: CheckedForm<NoFields>,
) -> PageResult {
    let revoked = devices.revoke_others().await?;
    ctx.audit(
        AuditEvent::OtherDevicesLoggedOut,
        &crate::demo::pages::count(revoked, "device", "devices"),
    )
    .await?;
    FlashMessage::success(match revoked {
        0 => "No other device was signed in.".to_owned(),
        1 => "1 other device is logged out.".to_owned(),
        n => format!("{n} other devices are logged out."),
    })
    .send();
    Ok(see_other("/devices"))
}

#[cfg(test)]
mod tests {
    use super::browser_name;

    #[test]
    fn user_agents_are_summarised() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(browser_name(Some(chrome)), "Chrome on Linux");
        assert_eq!(browser_name(Some("demo-test")), "demo-test");
        assert_eq!(browser_name(None), "unknown browser");
    }
}
