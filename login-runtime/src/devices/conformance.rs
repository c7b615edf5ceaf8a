//! One conformance suite for every [`DeviceRegistry`], as actix-session runs one suite against
//! every `SessionStore`: a new store is correct when it passes.

use std::time::{Duration, SystemTime};

use crate::devices::registry::{Device, DeviceRegistry};

/// Runs the suite against a store: `store()` is called for each handle the suite needs, and
/// every handle must see the same devices (clones of one [`MemoryDevices`], or
/// `RedisDevices` on one server under one prefix), as every instance of an app would. Panics
/// on the first rule the store breaks, naming it. Users and devices are made up afresh on
/// each run, so a shared server can run it any number of times.
///
/// ```
/// use login_runtime::MemoryDevices;
///
/// # actix_web::rt::System::new().block_on(async {
/// let devices = MemoryDevices::new();
/// login_runtime::testing::device_registry_conformance(|| devices.clone()).await;
/// # });
/// ```
///
/// [`MemoryDevices`]: crate::MemoryDevices
pub async fn device_registry_conformance<R, F>(store: F)
where
    R: DeviceRegistry,
    F: Fn() -> R,
{
    let run = hex::encode(rand::random::<[u8; 8]>());
    let alice = format!("alice-{run}");
    let bob = format!("bob-{run}");
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let (one, other) = (store(), store());

    // A device as recorded is the device read back, field for field, by another instance.
    let mut laptop = Device::new(&alice, t0);
    laptop.address = Some("192.0.2.7".to_owned());
    laptop.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".to_owned());
    laptop.session_tag = Some("5f2a9c0e5f2a9c0e5f2a9c0e5f2a9c0e".to_owned());
    expect_ok(one.record(&laptop).await, "record");
    let read = expect_ok(other.device(&laptop.id).await, "device");
    assert_eq!(
        read.as_ref(),
        Some(&laptop),
        "a recorded device reads back unchanged, from any instance"
    );
    assert_eq!(
        expect_ok(other.device(&format!("{:032x}", 0)).await, "device"),
        None,
        "an unknown device id finds nothing"
    );

    // The user's devices, and only theirs.
    let phone = Device::new(&alice, t0 + Duration::from_secs(5));
    let bobs = Device::new(&bob, t0);
    expect_ok(one.record(&phone).await, "record");
    expect_ok(one.record(&bobs).await, "record");
    let mut listed = ids(expect_ok(other.devices(&alice).await, "devices"));
    listed.sort();
    let mut expected = vec![laptop.id.clone(), phone.id.clone()];
    expected.sort();
    assert_eq!(
        listed, expected,
        "devices() lists exactly the user's devices"
    );

    // Touch moves `last_seen` and nothing else.
    let later = t0 + Duration::from_secs(600);
    expect_ok(other.touch(&laptop.id, later).await, "touch");
    let touched = expect_ok(one.device(&laptop.id).await, "device")
        .unwrap_or_else(|| panic!("a touched device is still there"));
    assert_eq!(touched.last_seen, later, "touch sets last_seen");
    assert_eq!(touched.created, laptop.created, "touch keeps created");
    assert_eq!(
        touched.session_tag, laptop.session_tag,
        "touch keeps the rest"
    );

    // Revoke: only the owner's, final, and a touch in flight brings nothing back.
    assert!(
        !expect_ok(one.revoke(&bob, &laptop.id).await, "revoke"),
        "revoking another user's device answers false"
    );
    assert!(
        expect_ok(other.device(&laptop.id).await, "device").is_some(),
        "and leaves it in place"
    );
    assert!(
        expect_ok(one.revoke(&alice, &laptop.id).await, "revoke"),
        "revoking one's own device answers true"
    );
    assert_eq!(
        expect_ok(other.device(&laptop.id).await, "device"),
        None,
        "a revoked device is gone, on every instance"
    );
    expect_ok(other.touch(&laptop.id, later).await, "touch");
    assert_eq!(
        expect_ok(one.device(&laptop.id).await, "device"),
        None,
        "a touch after a revoke does not bring the device back"
    );
    assert!(
        !expect_ok(one.revoke(&alice, &laptop.id).await, "revoke"),
        "revoking a device twice answers false the second time"
    );
    assert_eq!(
        ids(expect_ok(one.devices(&alice).await, "devices")),
        vec![phone.id.clone()],
        "a revoked device is no longer listed"
    );

    // Revoke all but one, then all.
    let tablet = Device::new(&alice, t0 + Duration::from_secs(9));
    let desktop = Device::new(&alice, t0 + Duration::from_secs(10));
    expect_ok(one.record(&tablet).await, "record");
    expect_ok(one.record(&desktop).await, "record");
    assert_eq!(
        expect_ok(
            other.revoke_all(&alice, Some(&desktop.id)).await,
            "revoke_all"
        ),
        2,
        "revoke_all counts what it revoked, sparing `except`"
    );
    assert_eq!(
        ids(expect_ok(one.devices(&alice).await, "devices")),
        vec![desktop.id.clone()],
        "only the spared device is left"
    );
    assert_eq!(
        expect_ok(one.revoke_all(&alice, None).await, "revoke_all"),
        1,
        "revoke_all without `except` revokes every device"
    );
    assert!(
        expect_ok(other.devices(&alice).await, "devices").is_empty(),
        "nothing is left of the user"
    );
    assert_eq!(
        expect_ok(other.revoke_all(&alice, None).await, "revoke_all"),
        0,
        "revoke_all of a user without devices revokes none"
    );
    assert_eq!(
        ids(expect_ok(one.devices(&bob).await, "devices")),
        vec![bobs.id.clone()],
        "another user's devices are untouched by all of it"
    );
    expect_ok(one.revoke_all(&bob, None).await, "revoke_all");
}

fn ids(devices: Vec<Device>) -> Vec<String> {
    devices.into_iter().map(|device| device.id).collect()
}

fn expect_ok<T, E: std::fmt::Display>(result: Result<T, E>, operation: &str) -> T {
    result.unwrap_or_else(|error| panic!("{operation} failed: {error}"))
}
