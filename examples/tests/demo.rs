//! The demo site, driven as a browser would: forms, redirects, cookies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use examples::{Keys, demo_app};
use login_runtime::testing::TestClient;

struct Page {
    status: StatusCode,
    location: String,
    body: String,
}

/// One visitor: a User-Agent, an address, the cookies a browser would keep, and the CSRF
/// token of the last form it was shown (which its next form submission sends).
struct Browser<S> {
    client: TestClient<S>,
    csrf: RefCell<Option<String>>,
}

impl<S, B> Browser<S>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    async fn send(&self, req: TestRequest) -> Page {
        let req = req
            .insert_header(("user-agent", "demo-test"))
            .peer_addr("127.0.0.1:40000".parse().unwrap());
        let res = self.client.call(req).await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
        if let Some(token) = body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            *self.csrf.borrow_mut() = Some(token.to_owned());
        }
        Page {
            status,
            location,
            body,
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(TestRequest::get().uri(path)).await
    }

    /// Submits a form with the token of the last form shown, as a browser submits a form.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let token = self
            .csrf
            .borrow()
            .clone()
            .expect("a form was shown before it is submitted");
        let mut form = form.to_vec();
        form.push(("csrf", &token));
        self.post_without_token(path, &form).await
    }

    /// What another site's page can make the browser post: the fields, not the token.
    async fn post_without_token(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(TestRequest::post().uri(path).set_form(form))
            .await
    }

    fn close_browser(&self) {
        // Session cookies go; the persistent remember cookie stays.
        self.client.remove_cookie("id");
        self.client.remove_cookie("_flash");
    }
}

async fn browser() -> Browser<
    impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
> {
    let keys = Keys::generate();
    Browser {
        client: TestClient::new(test::init_service(demo_app!(keys)).await),
        csrf: RefCell::new(None),
    }
}

#[actix_web::test]
async fn a_visitor_logs_in_is_remembered_reauthenticates_and_logs_out() {
    let browser = browser().await;
    assert!(browser.get("/").await.body.contains("Hello, stranger"));

    // A members' page sends the visitor to the login form, which says why.
    let page = browser.get("/members").await;
    assert_eq!(page.status, StatusCode::FOUND);
    assert_eq!(page.location, "/login?next=%2Fmembers");
    let form = browser.get(&page.location).await;
    assert!(
        form.body.contains("Please log in to access this page."),
        "{}",
        form.body
    );
    assert!(
        form.body.contains("name=\"next\" value=\"/members\""),
        "{}",
        form.body
    );

    // A wrong password is refused.
    let page = browser
        .post("/login", &[("username", "alice"), ("password", "nope")])
        .await;
    assert_eq!(page.location, "/login");
    assert!(
        browser
            .get("/login")
            .await
            .body
            .contains("Wrong name or password.")
    );

    // The right one, remembered, goes on to `next`.
    let page = browser
        .post(
            "/login",
            &[
                ("username", "alice"),
                ("password", "wonderland"),
                ("remember", "on"),
                ("next", "/members"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/members");
    let page = browser.get("/members").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Only members see this, Alice."));
    assert!(
        browser
            .get("/settings")
            .await
            .body
            .contains("Settings for alice.")
    );

    // Browser closed and reopened: remembered, but settings need the password again.
    browser.close_browser();
    assert!(browser.get("/members").await.body.contains("Alice"));
    let page = browser.get("/settings").await;
    assert_eq!(page.location, "/reauthenticate?next=%2Fsettings");
    browser.get(&page.location).await;
    let page = browser
        .post(
            "/reauthenticate",
            &[("password", "wonderland"), ("next", "/settings")],
        )
        .await;
    assert_eq!(page.location, "/settings");
    assert_eq!(browser.get("/settings").await.status, StatusCode::OK);

    // Logging out ends the login and the remember cookie.
    assert!(browser.get("/").await.body.contains("Log out"));
    let page = browser.post("/logout", &[]).await;
    assert_eq!(page.location, "/");
    assert!(browser.get("/").await.body.contains("You are logged out."));
    browser.close_browser();
    assert_eq!(browser.get("/members").await.status, StatusCode::FOUND);
}

#[actix_web::test]
async fn a_disabled_member_cannot_log_in() {
    let browser = browser().await;
    browser.get("/login").await;
    let page = browser
        .post("/login", &[("username", "bob"), ("password", "builder")])
        .await;
    assert_eq!(page.location, "/login");
    assert!(
        browser
            .get("/login")
            .await
            .body
            .contains("This account is disabled.")
    );
    assert_eq!(browser.get("/members").await.status, StatusCode::FOUND);
}

#[actix_web::test]
async fn a_hostile_next_is_not_followed() {
    let browser = browser().await;
    for next in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        // Each login renews the form token: the login form is shown each time.
        browser.get("/login").await;
        let page = browser
            .post(
                "/login",
                &[
                    ("username", "alice"),
                    ("password", "wonderland"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.location, "/", "{next}");
    }
}

#[actix_web::test]
async fn a_form_posted_from_another_site_is_refused() {
    let browser = browser().await;
    let alice = [("username", "alice"), ("password", "wonderland")];
    // The visitor has the login form open; another site's page posts to it without the token.
    browser.get("/login").await;
    let page = browser.post_without_token("/login", &alice).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Form expired"), "{}", page.body);
    let forged = [alice[0], alice[1], ("csrf", "00")];
    assert_eq!(
        browser.post_without_token("/login", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(browser.get("/members").await.status, StatusCode::FOUND);

    // Logged in for real, the token seen before the login is worth nothing after it.
    let before_login = browser.csrf.borrow().clone().unwrap();
    assert_eq!(
        browser.post("/login", &alice).await.status,
        StatusCode::SEE_OTHER
    );
    let stale = [("csrf", before_login.as_str())];
    assert_eq!(
        browser.post_without_token("/logout", &stale).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        browser.post_without_token("/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(browser.get("/members").await.status, StatusCode::OK);

    // The logout form of the page the visitor sees works.
    browser.get("/").await;
    assert_eq!(
        browser.post("/logout", &[]).await.location,
        "/",
        "logged out"
    );
    assert_eq!(browser.get("/members").await.status, StatusCode::FOUND);
}
