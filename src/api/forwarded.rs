//! The client's address behind trusted reverse proxies (`TRUSTED_PROXIES`):
//! from `Forwarded` (RFC 7239) or else `X-Forwarded-For`, read from the
//! right, skipping the proxies we trust. A header from anyone else is
//! ignored: it is whatever the client chose to send.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// The proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(nets)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy
    /// and says who it forwards for.
    pub fn client(
        &self,
        peer: Option<IpAddr>,
        forwarded: Option<&str>,
        x_forwarded_for: Option<&str>,
    ) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
            (Some(forwarded), _) => forwarded
                .split(',')
                .filter_map(|element| {
                    element.split(';').find_map(|pair| {
                        let (name, value) = pair.trim().split_once('=')?;
                        name.eq_ignore_ascii_case("for")
                            .then(|| parse_node(value))?
                    })
                })
                .collect(),
            (None, Some(list)) => list.split(',').filter_map(parse_node).collect(),
            (None, None) => return Some(peer),
        };
        // The nearest hop that is not one of ours is the client; if every
        // hop is ours, the farthest one is.
        hops.iter()
            .rev()
            .find(|ip| !self.trusts(**ip))
            .or(hops.first())
            .copied()
            .or(Some(peer))
    }
}

/// `192.0.2.1`, `"[2001:db8::1]:4711"`, `198.51.100.7:80`; `unknown` and
/// obfuscated names give nothing.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let node = raw.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = node.strip_prefix('[')?;
    let (ip, _) = bracketed.split_once(']')?;
    ip.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies() -> TrustedProxies {
        TrustedProxies::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ])
    }

    fn ip(raw: &str) -> Option<IpAddr> {
        Some(raw.parse().unwrap())
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let p = proxies();
        assert_eq!(
            p.client(ip("10.0.0.2"), None, Some("203.0.113.9")),
            ip("203.0.113.9")
        );
        // Through two of our proxies; the client's own claim on the left is
        // not believed past the first untrusted hop.
        assert_eq!(
            p.client(ip("10.0.0.2"), None, Some("6.6.6.6, 203.0.113.9, 10.0.0.7")),
            ip("203.0.113.9")
        );
        assert_eq!(
            p.client(
                ip("::1"),
                Some(r#"for="[2001:db8::1]:4711";proto=https, for=10.0.0.7"#),
                None
            ),
            ip("2001:db8::1")
        );
        assert_eq!(
            p.client(ip("10.0.0.2"), Some("for=198.51.100.7:80"), Some("1.2.3.4")),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn anyone_else_s_headers_are_ignored() {
        let p = proxies();
        assert_eq!(
            p.client(ip("203.0.113.9"), Some("for=1.2.3.4"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.2"), None, Some("1.2.3.4")),
            ip("10.0.0.2")
        );
        assert_eq!(
            p.client(ip("10.0.0.2"), None, Some("unknown, garbage")),
            ip("10.0.0.2")
        );
        assert_eq!(
            p.client(ip("10.0.0.2"), Some("for=unknown"), None),
            ip("10.0.0.2")
        );
    }
}
