//! What a new user of the demo tripped over (issue 22), each seen over HTTP: forms that
//! redirect after success and addresses that never 404, logging out twice, the API's 401 and
//! 405, the audit table, errors by their fields, the 413 page, the devices page after a
//! password change, the navigation's current page. Run on SQLite, PostgreSQL and Redis by the
//! suite in `demo.rs`.

use actix_web::http::StatusCode;

use super::{PASSWORD, Site, browser, device_ids, new_name};

pub(super) async fn a_new_token_is_made_once_and_shown_once_after_a_redirect(site: &Site) {
    let name = new_name("tess");
    let member = browser(site, 1).await;
    member.sign_up(&name, PASSWORD).await;
    member.get("/tokens").await;
    let page = member.post("/tokens", &[("label", "backup job")]).await;
    // Post/redirect/get: the POST makes the token and sends the browser to the page.
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location, "/tokens");
    let shown = member.get("/tokens").await;
    assert!(
        shown.body.contains("<pre id=\"new-token\">demo_"),
        "{}",
        shown.body
    );
    // A reload shows the list, not the token again, and makes no second token.
    let reloaded = member.get("/tokens").await;
    assert!(!reloaded.body.contains("new-token"), "{}", reloaded.body);
    assert_eq!(reloaded.body.matches("<td>backup job</td>").count(), 1);
    let user = site.demo.db.user_by_name(&name).await.unwrap().unwrap();
    assert_eq!(site.demo.db.tokens(user.id).await.unwrap().len(), 1);
    // A label that is wrong shows the form again at /tokens (which a reload can open), with
    // the error by the field.
    let page = member.post("/tokens", &[("label", "   ")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("aria-describedby=\"label-error\""),
        "{}",
        page.body
    );
    assert_eq!(site.demo.db.tokens(user.id).await.unwrap().len(), 1);
}

pub(super) async fn no_address_a_form_leaves_in_the_address_bar_is_a_404(site: &Site) {
    let name = new_name("uma");
    let member = browser(site, 1).await;
    member.sign_up(&name, PASSWORD).await;
    // A wrong current password shows the settings again at /settings/password …
    let page = member
        .change_password("not my password", "a new long passphrase")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("The current password is wrong."));
    // … and opening that address (a reload after the error, a bookmark) shows the settings.
    for path in [
        "/settings/password",
        "/settings/display-name",
        "/logout",
        "/tokens/1/revoke",
        "/devices/abc/logout",
        "/devices/log-out-others",
    ] {
        let page = member.get(path).await;
        assert!(
            matches!(page.status, StatusCode::SEE_OTHER | StatusCode::FOUND),
            "GET {path}: {} {}",
            page.status,
            page.body
        );
        let landing = member.get(&page.location).await;
        assert_eq!(
            landing.status,
            StatusCode::OK,
            "GET {path} → {}",
            page.location
        );
    }
    // Nothing was done by opening them: still logged in, with the same password.
    assert_eq!(member.get("/profile").await.status, StatusCode::OK);
}

pub(super) async fn logging_out_in_a_second_tab_lands_logged_out(site: &Site) {
    let name = new_name("vic");
    let member = browser(site, 1).await;
    member.sign_up(&name, PASSWORD).await;
    // Two tabs of one browser show the same page, with the same form token.
    member.get("/profile").await;
    let token = member.token();
    let first = member
        .post_without_token("/logout", &[("csrf", token.as_str())])
        .await;
    assert_eq!(first.location, "/");
    // The second tab's logout form holds the token the first logout replaced.
    let second = member
        .post_without_token("/logout", &[("csrf", token.as_str())])
        .await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
    assert_eq!(second.location, "/");
    let home = member.get("/").await;
    assert!(home.body.contains("You are logged out."), "{}", home.body);
    assert!(!home.body.contains("action=\"/logout\""));
    // Logged in, a logout still needs the form token.
    member.log_in(&name, PASSWORD, false).await;
    let forged = member
        .post_without_token("/logout", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(member.get("/profile").await.status, StatusCode::OK);
}

pub(super) async fn the_api_challenges_for_a_bearer_token_and_answers_405_to_other_methods(
    site: &Site,
) {
    let api = browser(site, 3).await;
    let page = api.get("/api/me").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page.headers.get("www-authenticate").unwrap(),
        "Bearer realm=\"api\""
    );
    let body: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert!(
        body["message"].as_str().unwrap().contains("bearer token"),
        "{body}"
    );
    assert!(!page.body.contains("Please log in"), "{}", page.body);
    // A token sent and refused: RFC 6750's invalid_token.
    let page = api
        .get_with("/api/me", ("authorization", "Bearer demo_0000"))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        page.headers.get("www-authenticate").unwrap(),
        "Bearer realm=\"api\", error=\"invalid_token\""
    );
    // A method the path does not answer: 405 with Allow, in JSON, not a 404.
    for path in ["/api/me", "/api/tokens"] {
        let page = api.post_without_token(path, &[]).await;
        assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED, "POST {path}");
        assert_eq!(page.headers.get("allow").unwrap(), "GET");
        assert_eq!(page.content_type, "application/json");
    }
    // A path the API does not have is still a 404.
    assert_eq!(api.get("/api/nothing").await.status, StatusCode::NOT_FOUND);
}

pub(super) async fn the_audit_table_names_users_and_events_and_keeps_the_name_tried(site: &Site) {
    let name = new_name("wendy");
    let member = browser(site, 1).await;
    member.sign_up(&name, PASSWORD).await;
    // A failed login for a name no account has, with markup and a control character.
    let stranger = browser(site, 2).await;
    let tried = format!("<b>nobody</b>\n{}", "y".repeat(300));
    stranger.log_in(&tried, PASSWORD, false).await;
    // Two devices, one logged out by "log out all other devices".
    let phone = browser(site, 3).await;
    phone.log_in(&name, PASSWORD, false).await;
    member.get("/devices").await;
    member.post("/devices/log-out-others", &[]).await;

    // The admin page needs a second factor: the admin turns on an authenticator app first.
    let password = site.demo.ensure_demo_account().await.unwrap().unwrap();
    let admin = browser(site, 4).await;
    admin.log_in("demo", &password, false).await;
    super::mfa::log_in_with_totp(&admin, "demo", &password).await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let row = |event: &str| {
        page.body
            .split("<tr>")
            .filter(|row| !row.contains("<td>demo</td>"))
            .find(|row| row.contains(&format!("<code class=\"code\">{event}</code>")))
            .unwrap_or_else(|| panic!("a row for {event}: {}", page.body))
            .to_owned()
    };
    // The user by name, the event by what it is called (and its code).
    let login = row("login");
    assert!(login.contains("Logged in"), "{login}");
    assert!(login.contains(&format!("<td>{name}</td>")), "{login}");
    // The name tried: escaped, bounded, never markup on the page.
    let failed = row("login_failed");
    assert!(failed.contains("Login failed"), "{failed}");
    assert!(failed.contains("unknown name"), "{failed}");
    assert!(failed.contains("&#60;b&#62;nobody") || failed.contains("&lt;b&gt;nobody"));
    assert!(failed.contains("\\n"), "the newline escaped: {failed}");
    assert!(!failed.contains(&"y".repeat(41)), "bounded: {failed}");
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE event = 'login_failed'")
            .fetch_all(site.demo.db.pool())
            .await
            .unwrap();
    assert!(
        stored.iter().all(|detail| detail.chars().count() < 80),
        "{stored:?}"
    );
    // "1 device", not "1 devices".
    let others = row("other_devices_logged_out");
    assert!(others.contains("<td>1 device</td>"), "{others}");
}

pub(super) async fn form_errors_stand_by_their_fields_with_aria(site: &Site) {
    let visitor = browser(site, 1).await;
    visitor.get("/signup").await;
    let page = visitor
        .post(
            "/signup",
            &[
                ("username", "A"),
                ("display_name", ""),
                ("email", "not-an-address"),
                ("password", "short"),
                ("confirm", "other"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["username", "email", "password", "confirm"] {
        let input = page
            .body
            .split(&format!("<input id=\"{field}\""))
            .nth(1)
            .and_then(|rest| rest.split('>').next())
            .unwrap_or_else(|| panic!("the {field} input: {}", page.body));
        assert!(input.contains("aria-invalid=\"true\""), "{field}: {input}");
        assert!(
            input.contains(&format!("{field}-error")),
            "{field}: {input}"
        );
        assert!(
            page.body
                .contains(&format!("class=\"field-error\" id=\"{field}-error\"")),
            "{field}"
        );
    }
    // The display name was fine: not marked.
    let display = page
        .body
        .split("<input id=\"display_name\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap();
    assert!(!display.contains("aria-invalid"), "{display}");
    // What the visitor typed is kept (but never a password).
    assert!(page.body.contains("value=\"not-an-address\""));
    assert!(!page.body.contains("value=\"short\""));
}

pub(super) async fn an_oversized_form_gets_the_sites_413_page(site: &Site) {
    let visitor = browser(site, 1).await;
    visitor.get("/login").await;
    let big = "x".repeat(200 * 1024);
    let page = visitor
        .post("/login", &[("username", big.as_str()), ("password", "p")])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    assert!(page.body.contains("Too much to send"), "{}", page.body);
    assert!(
        page.body.contains("href=\"/login\""),
        "the site's navigation"
    );
    // A form within the limit is read as before.
    let page = visitor
        .post("/login", &[("username", "nobody-here"), ("password", "p")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("Too much to send"));
}

pub(super) async fn after_a_password_change_the_devices_page_lists_only_this_device(site: &Site) {
    let name = new_name("xena");
    let laptop = browser(site, 1).await;
    laptop.sign_up(&name, PASSWORD).await;
    let phone = browser(site, 2).await;
    phone.log_in(&name, PASSWORD, true).await;
    let tablet = browser(site, 3).await;
    tablet.log_in(&name, PASSWORD, false).await;
    let (_, others) = device_ids(&laptop.get("/devices").await);
    assert_eq!(others.len(), 2);

    let new_password = "a different long passphrase";
    let page = laptop.change_password(PASSWORD, new_password).await;
    assert_eq!(page.location, "/settings", "{}", page.body);
    // The browsers the change logged out are gone from the page, and its count agrees.
    let page = laptop.get("/devices").await;
    let (_, others) = device_ids(&page);
    assert!(others.is_empty(), "{}", page.body);
    assert!(!page.body.contains("Log out all other devices"));
    assert_eq!(phone.get("/profile").await.status, StatusCode::FOUND);
    assert_eq!(tablet.get("/profile").await.status, StatusCode::FOUND);
}

pub(super) async fn the_navigation_marks_the_current_page(site: &Site) {
    let name = new_name("yuri");
    let member = browser(site, 1).await;
    member.sign_up(&name, PASSWORD).await;
    for path in ["/profile", "/tokens", "/devices"] {
        let page = member.get(path).await;
        let current: Vec<&str> = page
            .body
            .split("<a href=\"")
            .skip(1)
            .filter(|link| link.contains("aria-current=\"page\""))
            .filter_map(|link| link.split('"').next())
            .collect();
        assert_eq!(current, [path], "{}", page.body);
    }
    assert!(member.get("/").await.body.contains("rel=\"icon\""));
    let icon = member.get("/favicon.svg").await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.content_type, "image/svg+xml");
}
