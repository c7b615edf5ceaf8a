//! The SMTP mailer against servers that misbehave: none listening, one that never answers.
//! Delivery through a real server (aiosmtpd) is tested end to end by the demo's suite
//! (`examples/tests/demo/mail.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use login_account::{
    DefaultTemplates, Mail, MailError, MailKind, MailTemplates, Mailer, SmtpMailer,
};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn reset_mail(to: &str) -> Mail {
    let content = DefaultTemplates::new("Example")
        .render(&MailKind::Reset {
            link: "https://app.example/account/reset/confirm?token=0123abcd",
            valid_for: Duration::from_secs(3600),
        })
        .unwrap();
    Mail::new(to, content)
}

#[actix_web::test]
async fn a_server_that_is_not_there_is_a_clear_error() {
    let port = free_port();
    let mailer = SmtpMailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Example <noreply@app.example>",
    )
    .unwrap();
    let error = mailer
        .send(&reset_mail("ada@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(error, MailError::Send(_)), "{error:?}");
}

#[actix_web::test]
async fn a_server_that_never_answers_is_given_up_after_the_timeout() {
    // Accepts the connection and says nothing: no SMTP greeting ever comes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _held = std::thread::spawn(move || {
        let connections: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(10));
        drop(connections);
    });
    let mailer = SmtpMailer::new(&format!("smtp://127.0.0.1:{port}"), "noreply@app.example")
        .unwrap()
        .timeout(Duration::from_millis(500))
        .unwrap();
    let started = Instant::now();
    let error = mailer
        .send(&reset_mail("ada@example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, MailError::Timeout(_) | MailError::Send(_)),
        "{error:?}"
    );
    // Bounded: the send gave up, it did not hang for the server's 10 s.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn bad_configuration_is_refused_without_echoing_the_password() {
    let error = SmtpMailer::new("smtp://user:hunter2@[bad", "noreply@app.example").unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(SmtpMailer::new("smtp://127.0.0.1:25", "not an address").is_err());
    let mailer =
        SmtpMailer::new("smtp://user:hunter2@127.0.0.1:25", "noreply@app.example").unwrap();
    assert!(!format!("{mailer:?}").contains("hunter2"));
}
