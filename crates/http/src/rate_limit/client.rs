//! Who the client is, for limits per client address.

use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client's address as a counter key: IPv4 addresses whole, IPv6 addresses by
/// their /64 network (one subscriber usually gets a whole /64, so single addresses
/// would cost an attacker nothing).
pub(super) fn client_key(req: &HttpRequest, trusted_proxy_hops: usize) -> String {
    match client_ip(req, trusted_proxy_hops).map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(ip)) => ip.to_string(),
        Some(IpAddr::V6(ip)) => {
            let network = Ipv6Addr::from(u128::from(ip) & (u128::MAX << 64));
            format!("{network}/64")
        }
        None => "unknown".to_owned(),
    }
}

/// The peer address; with `hops` trusted proxies in front, the address the outermost
/// of them saw. Each proxy appends its peer to `X-Forwarded-For`, so the last `hops`
/// entries are theirs and anything before is whatever the client sent.
fn client_ip(req: &HttpRequest, hops: usize) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|addr| addr.ip());
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all(X_FORWARDED_FOR)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    // Fewer entries than proxies: the request came in through the inner ones only,
    // and the first entry is still one a trusted proxy wrote.
    let Some(entry) = forwarded.get(forwarded.len().saturating_sub(hops)) else {
        return peer;
    };
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn key(hops: usize, forwarded: &[&str]) -> String {
        let mut request = TestRequest::default().peer_addr("10.0.0.1:4000".parse().expect("addr"));
        for value in forwarded {
            request = request.append_header((X_FORWARDED_FOR, *value));
        }
        client_key(&request.to_http_request(), hops)
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        assert_eq!(key(0, &[]), "10.0.0.1");
        assert_eq!(key(0, &["203.0.113.9"]), "10.0.0.1", "not trusted");
        assert_eq!(key(1, &[]), "10.0.0.1", "no header: the peer");
        assert_eq!(key(1, &["203.0.113.9"]), "203.0.113.9");
        assert_eq!(
            key(1, &["6.6.6.6, 203.0.113.9"]),
            "203.0.113.9",
            "the client's own entry is skipped"
        );
        assert_eq!(key(1, &["6.6.6.6", "203.0.113.9"]), "203.0.113.9");
        assert_eq!(
            key(2, &["6.6.6.6, 203.0.113.9, 198.51.100.1"]),
            "203.0.113.9"
        );
        assert_eq!(key(3, &["203.0.113.9, 198.51.100.1"]), "203.0.113.9");
        assert_eq!(key(1, &["203.0.113.9:5555"]), "203.0.113.9");
        assert_eq!(key(1, &["garbage"]), "10.0.0.1");
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(
            key(1, &["2001:db8:1:2:aaaa::1"]),
            key(1, &["2001:db8:1:2:bbbb::2"])
        );
        assert_eq!(key(1, &["2001:db8:1:2:aaaa::1"]), "2001:db8:1:2::/64");
        assert_ne!(key(1, &["2001:db8:1:3::1"]), "2001:db8:1:2::/64");
        assert_eq!(key(1, &["::ffff:203.0.113.9"]), "203.0.113.9");
        assert_eq!(key(1, &["[2001:db8::1]:443"]), "2001:db8::/64");
    }
}
