//! The client's address, by one rule for everything that needs it: session protection, the
//! device registry, throttling and an application's audit trail; and which proxy headers
//! to believe.
//!
//! Without trusted proxies, the address is the socket's peer and no proxy header is read. With
//! [`TrustedProxies`], headers are believed only from a peer that is one of them, and the client
//! is the right-most hop of `Forwarded` (or, without it, `X-Forwarded-For`) that is not a trusted
//! proxy: a client that connects directly and writes these headers itself changes nothing, and
//! one behind the proxy cannot choose its address by prepending hops. The older on/off
//! `trust_proxy_headers(true)` believes the headers from anyone and takes their left-most hop
//! (actix-web's `realip_remote_addr`). An address is never written with a port.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header;

/// Proxies whose `Forwarded` / `X-Forwarded-*` headers are believed: addresses or networks in
/// CIDR notation (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`); see
/// [`LoginManager::trusted_proxies`](crate::LoginManager::trusted_proxies).
///
/// ```
/// use login_runtime::TrustedProxies;
///
/// let proxies = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8"])?;
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(!proxies.contains("192.0.2.1".parse().unwrap()));
/// assert!(TrustedProxies::parse(["10.0.0.0/33"]).is_err());
/// # Ok::<(), login_runtime::InvalidProxy>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<(IpAddr, u8)>,
}

/// A trusted proxy that is neither an IP address nor a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a proxy address: write an IP address (`10.0.0.5`, `::1`) or a network in CIDR notation (`10.0.0.0/8`, `fd00::/8`)"
)]
pub struct InvalidProxy(String);

impl TrustedProxies {
    /// The proxies `entries` name; an entry that is no address or network is refused.
    pub fn parse<S: AsRef<str>>(
        entries: impl IntoIterator<Item = S>,
    ) -> Result<TrustedProxies, InvalidProxy> {
        let networks = entries
            .into_iter()
            .map(|entry| parse_network(entry.as_ref().trim()))
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { networks })
    }

    /// Whether `ip` is one of the proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks
            .iter()
            .any(|(network, prefix)| in_network(ip, *network, *prefix))
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let networks: Vec<String> = self
            .networks
            .iter()
            .map(|(network, prefix)| format!("{network}/{prefix}"))
            .collect();
        f.debug_tuple("TrustedProxies").field(&networks).finish()
    }
}

fn parse_network(entry: &str) -> Result<(IpAddr, u8), InvalidProxy> {
    let invalid = || InvalidProxy(entry.to_owned());
    let (address, prefix) = match entry.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (entry, None),
    };
    let ip = canonical(address.parse::<IpAddr>().map_err(|_| invalid())?);
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(prefix) if prefix.bytes().all(|b| b.is_ascii_digit()) && !prefix.is_empty() => {
            prefix.parse::<u8>().map_err(|_| invalid())?
        }
        Some(_) => return Err(invalid()),
        None => bits,
    };
    if prefix > bits {
        return Err(invalid());
    }
    Ok((ip, prefix))
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let (ip, network, bits) = match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => (
            u128::from(u32::from(ip)),
            u128::from(u32::from(network)),
            32,
        ),
        (IpAddr::V6(ip), IpAddr::V6(network)) => (u128::from(ip), u128::from(network), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix);
    if shift >= 128 {
        return true;
    }
    (ip >> shift) == (network >> shift)
}

/// Which proxy headers a `LoginManager` believes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ProxyTrust {
    /// None: the socket's address, the connection's scheme and the `Host` header.
    #[default]
    Nobody,
    /// Everyone's (`trust_proxy_headers(true)`): the left-most hop.
    Everyone,
    /// Only these proxies', the right-most hop that is not one of them.
    Only(TrustedProxies),
}

impl ProxyTrust {
    /// Whether proxy headers are read at all.
    pub(crate) fn reads_headers(&self) -> bool {
        *self != ProxyTrust::Nobody
    }

    /// Whether the headers of this request come from a proxy this trust believes.
    pub(crate) fn believes(&self, req: &HttpRequest) -> bool {
        match self {
            ProxyTrust::Nobody => false,
            ProxyTrust::Everyone => true,
            ProxyTrust::Only(proxies) => req
                .peer_addr()
                .is_some_and(|peer| proxies.contains(peer.ip())),
        }
    }
}

/// Where a request came from, as far as the server can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientAddress {
    /// An IP address: the socket's, or a proxy's header that holds one.
    Ip(IpAddr),
    /// What a trusted proxy header holds when it is no IP address (an RFC 7239 obfuscated
    /// identifier such as `_hidden`, or `unknown`), as sent, without a port.
    Named(String),
    /// Neither a socket address nor a header (a request built in a test).
    Unknown,
}

impl ClientAddress {
    /// The address of `req`'s client; see the [module docs](self).
    pub(crate) fn of(req: &HttpRequest, trust: &ProxyTrust) -> ClientAddress {
        let socket = || match req.peer_addr() {
            Some(addr) => ClientAddress::Ip(addr.ip()),
            None => ClientAddress::Unknown,
        };
        match trust {
            ProxyTrust::Nobody => socket(),
            ProxyTrust::Everyone => {
                let info = req.connection_info();
                match info.realip_remote_addr() {
                    Some(text) => ClientAddress::parse(text),
                    None => ClientAddress::Unknown,
                }
            }
            ProxyTrust::Only(proxies) => {
                let Some(peer) = req.peer_addr() else {
                    return ClientAddress::Unknown;
                };
                if !proxies.contains(peer.ip()) {
                    // Security: a client that connects directly is not believed.
                    return ClientAddress::Ip(peer.ip());
                }
                let hops = forwarded_hops(req);
                // The right-most hop that is not a trusted proxy is the client; if every hop
                // is one, the left-most (the proxies' own request).
                let client = hops
                    .iter()
                    .rev()
                    .find(|hop| !matches!(hop, ClientAddress::Ip(ip) if proxies.contains(*ip)))
                    .or(hops.first())
                    .cloned();
                client.unwrap_or(ClientAddress::Ip(peer.ip()))
            }
        }
    }

    /// An address as a header writes it: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`,
    /// `[2001:db8::1]:4711`, or something that is no IP address.
    fn parse(text: &str) -> ClientAddress {
        let text = text.trim().trim_matches('"');
        if let Ok(ip) = text.parse::<IpAddr>() {
            return ClientAddress::Ip(canonical(ip));
        }
        if let Ok(socket) = text.parse::<SocketAddr>() {
            return ClientAddress::Ip(canonical(socket.ip()));
        }
        let unbracketed = text
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'));
        if let Some(ip) = unbracketed.and_then(|inner| inner.parse::<IpAddr>().ok()) {
            return ClientAddress::Ip(canonical(ip));
        }
        // A name with a port (`_hidden:4711`): the port goes, as for addresses.
        let name = match text.rsplit_once(':') {
            Some((name, port))
                if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                name
            }
            _ => text,
        };
        ClientAddress::Named(name.to_owned())
    }

    /// The address as text (`None` when unknown): what a device entry or an audit row keeps.
    pub(crate) fn to_text(&self) -> Option<String> {
        match self {
            ClientAddress::Ip(ip) => Some(ip.to_string()),
            ClientAddress::Named(name) => Some(name.clone()),
            ClientAddress::Unknown => None,
        }
    }
}

/// The hops the proxies recorded, left (first) to right (last): `Forwarded`'s `for=` values,
/// or without that header `X-Forwarded-For`'s, over every header line.
fn forwarded_hops(req: &HttpRequest) -> Vec<ClientAddress> {
    let headers = req.headers();
    let lines = |name| {
        headers
            .get_all(name)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
    };
    let forwarded: Vec<ClientAddress> = lines(header::FORWARDED)
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| ClientAddress::parse(value))
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    lines(header::X_FORWARDED_FOR)
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .map(ClientAddress::parse)
        .collect()
}

/// The scheme and host of the request as its client sent it: from `Forwarded` /
/// `X-Forwarded-Proto` / `X-Forwarded-Host` only when a believed proxy wrote them, otherwise
/// from the connection and the `Host` header.
pub(crate) fn scheme_and_host(req: &HttpRequest, trust: &ProxyTrust) -> (String, String) {
    if trust.believes(req) {
        let info = req.connection_info();
        return (info.scheme().to_owned(), info.host().to_owned());
    }
    let config = req.app_config();
    let scheme = if config.secure() { "https" } else { "http" };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_else(|| config.host());
    (scheme.to_owned(), host.to_owned())
}

#[cfg(test)]
mod tests;
