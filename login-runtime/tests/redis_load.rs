//! Load: two instances (real `HttpServer`s on two ports, each on its own thread and runtime)
//! share one Redis for sessions and devices. 240 clients at once, each its own user, spread
//! their requests over both instances, with logouts, "log out my other devices" and
//! remember-me restores mixed in. Counted: errors, responses naming another user, logins
//! that survive their logout. All must be zero; the counts are printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod redis_common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use redis_common::{Prefix, REDIS_URL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENTS: usize = 240;
const ROUNDS: usize = 10;

/// One instance: its own thread, runtime, pool and session store, as another server would.
fn start_instance(prefix: Prefix) -> (SocketAddr, ServerHandle, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let pool = redis_common::pool(REDIS_URL);
            let store = prefix.session_store(pool.clone()).await;
            let server = HttpServer::new(move || {
                App::new()
                    .configure(redis_common::routes)
                    .wrap(redis_common::manager(prefix.devices(pool.clone())))
                    .wrap(redis_common::sessions(store.clone()))
            })
            .workers(1)
            .backlog(1024)
            .bind(("127.0.0.1", 0))
            .unwrap();
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle())).unwrap();
            server.await.unwrap();
        });
    });
    let (addr, handle) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    (addr, handle, thread)
}

/// A browser's cookie jar and a minimal HTTP/1.1 client (one connection per request).
#[derive(Default, Clone)]
struct Jar(HashMap<String, String>);

struct Answer {
    status: u16,
    body: String,
}

#[derive(Default)]
struct Counts {
    requests: usize,
    errors: usize,
    wrong_user: usize,
    survived_logout: usize,
    logouts: usize,
    revocations: usize,
    restores: usize,
}

async fn get(addr: SocketAddr, path: &str, jar: &mut Jar) -> Result<Answer, String> {
    let work = async {
        let mut stream = actix_web::rt::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let cookies: Vec<String> = jar.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: load/1.0\r\nConnection: close\r\n"
        );
        if !cookies.is_empty() {
            request.push_str(&format!("Cookie: {}\r\n", cookies.join("; ")));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").ok_or("no header end")?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or("no status")?;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let mut attrs = value.trim().split(';');
            let Some((cookie, cookie_value)) = attrs.next().and_then(|c| c.split_once('=')) else {
                continue;
            };
            let removed = attrs.any(|attr| attr.trim().eq_ignore_ascii_case("max-age=0"));
            if removed || cookie_value.is_empty() {
                jar.0.remove(cookie);
            } else {
                jar.0.insert(cookie.to_owned(), cookie_value.to_owned());
            }
        }
        Ok(Answer {
            status,
            body: body.to_owned(),
        })
    };
    actix_web::rt::time::timeout(Duration::from_secs(20), work)
        .await
        .map_err(|_| format!("{path}: no answer in 20 s"))?
}

/// One client's life: log in on one instance, use both, then (by its number) log out, log
/// out its other device, or lose its session and come back with its remember cookie.
async fn client(i: usize, servers: [SocketAddr; 2]) -> Counts {
    let mut counts = Counts::default();
    let me = format!("user:load-{i}");
    let mut jar = Jar::default();
    let check = async |counts: &mut Counts, addr, path: &str, jar: &mut Jar, expect: &str| {
        counts.requests += 1;
        match get(addr, path, jar).await {
            Ok(answer) if answer.status == 200 => {
                if answer.body.starts_with("user:") && answer.body != me {
                    counts.wrong_user += 1;
                } else if answer.body != expect {
                    if expect == "Anonymous" && answer.body == me {
                        counts.survived_logout += 1;
                    } else {
                        counts.errors += 1;
                        eprintln!(
                            "client {i}: {path} said {:?}, expected {expect:?}",
                            answer.body
                        );
                    }
                }
            }
            Ok(answer) => {
                counts.errors += 1;
                eprintln!("client {i}: {path}: {}", answer.status);
            }
            Err(error) => {
                counts.errors += 1;
                eprintln!("client {i}: {path}: {error}");
            }
        }
    };
    let login = format!("/login/load-{i}?remember=true");
    check(&mut counts, servers[i % 2], &login, &mut jar, "logged in").await;
    for round in 0..ROUNDS {
        check(&mut counts, servers[(i + round) % 2], "/who", &mut jar, &me).await;
    }
    match i % 3 {
        0 => {
            // Logout on one instance; the session and remember cookie held before it are
            // replayed on both.
            let before = jar.clone();
            check(
                &mut counts,
                servers[(i + 1) % 2],
                "/logout",
                &mut jar,
                "logged out",
            )
            .await;
            counts.logouts += 1;
            check(&mut counts, servers[i % 2], "/who", &mut jar, "Anonymous").await;
            for server in servers {
                let mut replay = before.clone();
                check(&mut counts, server, "/who", &mut replay, "Anonymous").await;
            }
        }
        1 => {
            // A second device of the same user on the other instance logs the first out.
            let mut other = Jar::default();
            check(
                &mut counts,
                servers[(i + 1) % 2],
                &login,
                &mut other,
                "logged in",
            )
            .await;
            check(
                &mut counts,
                servers[i % 2],
                "/revoke-others",
                &mut other,
                "1",
            )
            .await;
            counts.revocations += 1;
            for server in servers {
                let mut revoked = jar.clone();
                check(&mut counts, server, "/who", &mut revoked, "Anonymous").await;
            }
            check(&mut counts, servers[i % 2], "/who", &mut other, &me).await;
            check(
                &mut counts,
                servers[(i + 1) % 2],
                "/logout",
                &mut other,
                "logged out",
            )
            .await;
            counts.logouts += 1;
        }
        _ => {
            // The browser closed: the remember cookie restores the login on the other
            // instance, then the user logs out.
            jar.0.remove("id");
            check(&mut counts, servers[(i + 1) % 2], "/who", &mut jar, &me).await;
            counts.restores += 1;
            check(&mut counts, servers[i % 2], "/who", &mut jar, &me).await;
            let before = jar.clone();
            check(
                &mut counts,
                servers[i % 2],
                "/logout",
                &mut jar,
                "logged out",
            )
            .await;
            counts.logouts += 1;
            let mut replay = before;
            replay.0.remove("id");
            check(
                &mut counts,
                servers[(i + 1) % 2],
                "/who",
                &mut replay,
                "Anonymous",
            )
            .await;
        }
    }
    counts
}

#[actix_web::test]
#[ignore = "needs Redis; run by .ci/run"]
async fn two_instances_under_load_never_mix_users_and_logouts_hold() {
    let prefix = Prefix::new("load");
    let _clean_up = prefix.clean_up_on_drop(REDIS_URL);
    let (a, stop_a, thread_a) = start_instance(prefix.clone());
    let (b, stop_b, thread_b) = start_instance(prefix.clone());
    let started = Instant::now();
    let all = futures_util::future::join_all((0..CLIENTS).map(|i| client(i, [a, b])));
    let results = actix_web::rt::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("the load run finishes");
    let elapsed = started.elapsed();
    let mut total = Counts::default();
    for counts in results {
        total.requests += counts.requests;
        total.errors += counts.errors;
        total.wrong_user += counts.wrong_user;
        total.survived_logout += counts.survived_logout;
        total.logouts += counts.logouts;
        total.revocations += counts.revocations;
        total.restores += counts.restores;
    }
    println!(
        "load: {CLIENTS} clients, 2 instances, {} requests in {elapsed:.1?}: {} logouts, {} \
         device revocations, {} remember-me restores; errors {}, responses naming another \
         user {}, logins surviving their logout {}",
        total.requests,
        total.logouts,
        total.revocations,
        total.restores,
        total.errors,
        total.wrong_user,
        total.survived_logout
    );
    stop_a.stop(true).await;
    stop_b.stop(true).await;
    thread_a.join().unwrap();
    thread_b.join().unwrap();
    let devices_left = prefix.device_keys(REDIS_URL).await.len();
    prefix.clean_up(REDIS_URL).await;

    assert_eq!(total.errors, 0, "errors");
    assert_eq!(total.wrong_user, 0, "responses naming another user");
    assert_eq!(total.survived_logout, 0, "logins surviving their logout");
    assert_eq!(devices_left, 0, "every device was revoked by its logout");
    assert!(total.requests >= CLIENTS * 10);
}
