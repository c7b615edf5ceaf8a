//! Mail through a real SMTP server, end to end: the demo sends through aiosmtpd (Debian's
//! `python3-aiosmtpd`, installed by `.ci/run`; the test starts it on a free loopback port),
//! which keeps what it receives in a Maildir. The test reads the delivered message as a mail
//! program would, follows its link, and sets a new password.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use examples::demo::account::MailTransport;
use examples::demo::{Config, Demo};
use login_account::testing::decode_quoted_printable;

use super::{PASSWORD, Site, browser, new_name};

/// aiosmtpd on a free loopback port, delivering into a Maildir; killed when dropped.
struct Aiosmtpd {
    port: u16,
    maildir: PathBuf,
    child: Child,
}

impl Aiosmtpd {
    fn start(dir: &Path) -> Aiosmtpd {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.join("maildir");
        let child = Command::new("aiosmtpd")
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd is installed (apt-get install python3-aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Aiosmtpd {
            port,
            maildir,
            child,
        }
    }

    /// The messages delivered to `to`, decoded as a mail program shows them.
    fn messages_to(&self, to: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .filter(|raw| raw.contains(&format!("\nTo: {to}")))
            .map(|raw| decode_quoted_printable(&raw))
            .collect()
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A demo on `config` (whose database lives in the test's directory).
async fn site_of(config: &Config) -> Site {
    Site {
        demo: Demo::start(config).await.unwrap(),
        address: rand::random(),
        _dir: None,
        postgres: None,
        devices_prefix: None,
    }
}

/// The first link in `message` that starts with `prefix`.
fn link_in(message: &str, prefix: &str) -> Option<String> {
    let start = message.find(prefix)?;
    let rest = &message[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

#[actix_web::test]
#[ignore = "needs aiosmtpd (python3-aiosmtpd); run by .ci/run"]
async fn a_reset_mail_sent_through_smtp_is_delivered_and_its_link_sets_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let server = Aiosmtpd::start(dir.path());
    let mut config = Config::sqlite(&dir.path().join("demo.db"));
    config.account.mail = MailTransport::Smtp(format!("smtp://127.0.0.1:{}", server.port));
    config.account.public_url = "https://demo.example".to_owned();
    let site = site_of(&config).await;
    let name = new_name("xena");
    let email = format!("{name}@example.com");
    browser(&site, 1).await.sign_up(&name, PASSWORD).await;

    let visitor = browser(&site, 2).await;
    visitor.get("/account/reset").await;
    let page = visitor.post("/account/reset", &[("email", &email)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    let messages = server.messages_to(&email);
    // The verification mail of the sign-up, and the reset's.
    assert_eq!(messages.len(), 2, "{messages:?}");
    let reset = messages
        .iter()
        .find(|message| message.contains("Subject: Reset your password"))
        .expect("the reset mail was delivered");
    assert!(
        reset.contains("Content-Type: text/plain") && reset.contains("Content-Type: text/html")
    );
    assert!(
        reset.contains("From: \"login-runtime demo\" <demo@localhost>"),
        "{reset}"
    );
    let link = link_in(reset, "https://demo.example/account/reset/confirm?token=").expect("a link");
    let path = link.strip_prefix("https://demo.example").unwrap();

    let page = visitor.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let token = path.split("token=").nth(1).unwrap();
    let new_password = "pelican lanterns at low tide";
    let page = visitor
        .post(
            "/account/reset/confirm",
            &[
                ("token", token),
                ("password", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        visitor.log_in(&name, new_password, false).await.location,
        "/"
    );
    // The account was told, through the same server.
    let told = server.messages_to(&email);
    assert!(
        told.iter()
            .any(|m| m.contains("Subject: Your password for login-runtime demo was changed"))
    );
    drop(visitor);
    site.finish().await;
}

#[actix_web::test]
async fn a_mail_server_that_is_down_answers_503_and_sign_up_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = Config::sqlite(&dir.path().join("demo.db"));
    config.account.mail = MailTransport::Smtp(format!("smtp://127.0.0.1:{closed}"));
    let site = site_of(&config).await;
    let name = new_name("yuri");
    let member = browser(&site, 1).await;
    let page = member.sign_up(&name, PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = member.get("/profile").await;
    assert!(
        page.body
            .contains("We could not send the mail to confirm your address"),
        "{}",
        page.body
    );
    let visitor = browser(&site, 2).await;
    for email in [
        format!("{name}@example.com"),
        "nobody@example.com".to_owned(),
    ] {
        visitor.get("/account/reset").await;
        let page = visitor.post("/account/reset", &[("email", &email)]).await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{email}");
        assert!(
            page.body.contains("could not send the mail right now"),
            "{}",
            page.body
        );
    }
    drop((member, visitor));
    site.finish().await;
}
