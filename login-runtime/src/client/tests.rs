#![allow(clippy::unwrap_used)]

use actix_web::test::TestRequest;

use super::{ClientAddress, ProxyTrust, TrustedProxies, scheme_and_host};

fn ip(text: &str) -> ClientAddress {
    ClientAddress::Ip(text.parse().unwrap())
}

fn only(proxies: &[&str]) -> ProxyTrust {
    ProxyTrust::Only(TrustedProxies::parse(proxies).unwrap())
}

#[test]
fn the_socket_address_is_used_without_its_port_and_headers_are_ignored() {
    let req = TestRequest::default()
        .peer_addr("192.0.2.9:51000".parse().unwrap())
        .insert_header(("x-forwarded-for", "203.0.113.7"))
        .to_http_request();
    assert_eq!(
        ClientAddress::of(&req, &ProxyTrust::Nobody),
        ip("192.0.2.9")
    );
}

#[test]
fn a_trusted_proxy_header_gives_the_address_without_a_port() {
    for (header, value, expected) in [
        ("x-forwarded-for", "203.0.113.7", ip("203.0.113.7")),
        ("x-forwarded-for", "203.0.113.7:4711", ip("203.0.113.7")),
        ("forwarded", "for=\"[2001:db8::1]:4711\"", ip("2001:db8::1")),
        ("x-forwarded-for", "2001:db8::1", ip("2001:db8::1")),
        (
            "forwarded",
            "for=_hidden",
            ClientAddress::Named("_hidden".into()),
        ),
        (
            "forwarded",
            "for=\"_hidden:4711\"",
            ClientAddress::Named("_hidden".into()),
        ),
    ] {
        let req = TestRequest::default()
            .peer_addr("192.0.2.9:51000".parse().unwrap())
            .insert_header((header, value))
            .to_http_request();
        assert_eq!(
            ClientAddress::of(&req, &ProxyTrust::Everyone),
            expected,
            "{header}: {value}"
        );
        // The same through a listed proxy (the only hop, so the client).
        assert_eq!(
            ClientAddress::of(&req, &only(&["192.0.2.9"])),
            expected,
            "{header}: {value}"
        );
    }
}

#[test]
fn addresses_are_written_without_ports() {
    assert_eq!(ip("192.0.2.9").to_text().as_deref(), Some("192.0.2.9"));
    assert_eq!(ClientAddress::Unknown.to_text(), None);
    let req = TestRequest::default().to_http_request();
    assert_eq!(
        ClientAddress::of(&req, &ProxyTrust::Nobody),
        ClientAddress::Unknown
    );
}

#[test]
fn the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy() {
    let trust = only(&["10.0.0.0/8", "192.0.2.9"]);
    let via = |header: &str, value: &str| {
        TestRequest::default()
            .peer_addr("192.0.2.9:443".parse().unwrap())
            .insert_header((header, value))
            .to_http_request()
    };
    // The client prepended a hop of its own choosing; the proxies appended the real one.
    let req = via("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.2.3");
    assert_eq!(ClientAddress::of(&req, &trust), ip("203.0.113.7"));
    let req = via(
        "forwarded",
        "for=6.6.6.6, for=203.0.113.7;proto=https, for=10.1.2.3",
    );
    assert_eq!(ClientAddress::of(&req, &trust), ip("203.0.113.7"));
    // Every hop a proxy: the left-most.
    let req = via("x-forwarded-for", "10.9.9.9, 10.1.2.3");
    assert_eq!(ClientAddress::of(&req, &trust), ip("10.9.9.9"));
    // No header: the proxy itself.
    let req = TestRequest::default()
        .peer_addr("192.0.2.9:443".parse().unwrap())
        .to_http_request();
    assert_eq!(ClientAddress::of(&req, &trust), ip("192.0.2.9"));
}

#[test]
fn a_client_that_connects_directly_and_forges_the_headers_changes_nothing() {
    let trust = only(&["10.0.0.0/8"]);
    let req = TestRequest::default()
        .peer_addr("198.51.100.4:5000".parse().unwrap())
        .insert_header(("x-forwarded-for", "10.0.0.1"))
        .insert_header(("forwarded", "for=10.0.0.1;proto=https;host=bank.example"))
        .insert_header(("x-forwarded-proto", "https"))
        .insert_header(("host", "shop.example"))
        .to_http_request();
    assert_eq!(ClientAddress::of(&req, &trust), ip("198.51.100.4"));
    let (scheme, host) = scheme_and_host(&req, &trust);
    assert_eq!((scheme.as_str(), host.as_str()), ("http", "shop.example"));
}

#[test]
fn a_trusted_proxys_scheme_and_host_are_believed() {
    let req = TestRequest::default()
        .peer_addr("10.0.0.2:5000".parse().unwrap())
        .insert_header(("x-forwarded-proto", "https"))
        .insert_header(("x-forwarded-host", "shop.example"))
        .insert_header(("host", "10.0.0.3:8080"))
        .to_http_request();
    let (scheme, host) = scheme_and_host(&req, &only(&["10.0.0.0/8"]));
    assert_eq!((scheme.as_str(), host.as_str()), ("https", "shop.example"));
}

#[test]
fn proxies_are_addresses_or_networks() {
    let proxies = TrustedProxies::parse([
        "127.0.0.1",
        "10.0.0.0/8",
        "fd00::/8",
        "::ffff:192.0.2.0/120",
    ]);
    // An IPv4-mapped network is written as IPv6 here: refused (the prefix counts IPv4 bits).
    assert!(proxies.is_err());
    let proxies =
        TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8", "fd00::/8", "0.0.0.0/0"]).unwrap();
    for inside in [
        "127.0.0.1",
        "10.255.0.1",
        "fd12::1",
        "::ffff:10.0.0.1",
        "198.51.100.1",
    ] {
        assert!(proxies.contains(inside.parse().unwrap()), "{inside}");
    }
    let narrow = TrustedProxies::parse(["10.0.0.0/8", "fd00::/8"]).unwrap();
    for outside in ["11.0.0.1", "fe80::1", "127.0.0.1"] {
        assert!(!narrow.contains(outside.parse().unwrap()), "{outside}");
    }
    for invalid in [
        "",
        "10.0.0.0/",
        "10.0.0.0/33",
        "localhost",
        "10.0.0.0/8/8",
        "::/129",
        "10.0.0.0/-1",
    ] {
        let error = TrustedProxies::parse([invalid]).unwrap_err();
        assert!(error.to_string().contains("CIDR"), "{invalid}: {error}");
    }
}
