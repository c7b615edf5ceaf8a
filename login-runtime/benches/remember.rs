//! Encoding and verifying remember cookies, in both formats, against a bare HMAC-SHA-512 over
//! the same bytes (`hmac_sha512_reference`, in the same run).
//!
//! `cargo bench -p login-runtime --bench remember` (add `-- --quick` for a fast pass).

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use login_runtime::SecretKey;
use login_runtime::remember::{RememberCodec, RememberFormat};

fn remember(c: &mut Criterion) {
    let key = SecretKey::generate();
    let tag = key.session_hash_tag(b"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
    let now = SystemTime::now();
    let duration = Duration::from_secs(365 * 24 * 3600);
    let user_id = "550e8400-e29b-41d4-a716-446655440000";

    for (name, format) in [
        ("signed", RememberFormat::Signed),
        ("flask_login", RememberFormat::FlaskLogin),
    ] {
        let codec = RememberCodec::new(format, key.clone());
        let cookie = codec.encode(user_id, Some(&tag), duration, now);
        // A forged cookie costs one MAC per listed key: the worst case of a rotation.
        let rotated = RememberCodec::new(format, SecretKey::generate())
            .with_previous_keys([SecretKey::generate()]);

        let mut group = c.benchmark_group(format!("remember/{name}"));
        group.bench_function("encode", |b| {
            b.iter(|| codec.encode(black_box(user_id), Some(&tag), duration, now));
        });
        group.bench_function("verify", |b| {
            b.iter(|| codec.decode(black_box(&cookie), now));
        });
        group.bench_function("verify_forged_two_keys", |b| {
            b.iter(|| rotated.decode(black_box(&cookie), now));
        });
        // The floor: one HMAC-SHA-512 over the same bytes, keyed from scratch as a caller
        // without a prepared key would (verify uses a state keyed once per key).
        group.bench_function("hmac_sha512_reference", |b| {
            b.iter(|| {
                let mut mac = <Hmac<sha2::Sha512> as Mac>::new_from_slice(key.as_bytes())
                    .unwrap_or_else(|_| unreachable!());
                mac.update(black_box(cookie.as_bytes()));
                mac.finalize().into_bytes()
            });
        });
        group.finish();
    }

    c.bench_function("session_hash_tag", |b| {
        b.iter(|| key.session_hash_tag(black_box(b"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")));
    });
}

criterion_group!(benches, remember);
criterion_main!(benches);
