//! The one rule for the web addresses a brand gives us (store, logo, images, landing):
//! https, a domain name as host (no IP address), no credentials, no port, at most 2048
//! characters; and, where it matters, a host that is a given domain or a subdomain of it.

use url::{Host, Url};

pub const MAX_LEN: usize = 2048;

/// The registrable domains a Tmall store lives on.
pub const TMALL: &[&str] = &["tmall.com"];
/// Where a landing page may send a user without the app.
pub const TMALL_OR_TAOBAO: &[&str] = &["tmall.com", "taobao.com"];

/// An https address that passed [`parse`]: its normalised text and lower-case host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl {
    url: Url,
    host: String,
}

impl HttpsUrl {
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host is one of `domains` or a subdomain of one (no empty labels).
    pub fn is_within(&self, domains: &[&str]) -> bool {
        domains.iter().any(|d| host_within(&self.host, d))
    }
}

/// Parses `raw` (trimmed) under the rule above.
pub fn parse(raw: &str) -> Option<HttpsUrl> {
    let s = raw.trim();
    if s.len() > MAX_LEN {
        return None;
    }
    let url = Url::parse(s).ok()?;
    if url.scheme() != "https"
        || !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
    {
        return None;
    }
    // The url crate has already lower-cased and IDNA-normalised a domain host.
    let Some(Host::Domain(host)) = url.host() else {
        return None;
    };
    let host = host.trim_end_matches('.').to_owned();
    if host.is_empty() || host.split('.').any(str::is_empty) {
        return None;
    }
    // The normal form is what is stored and answered (a path of at least `/`, characters
    // percent-encoded): it must keep the bound too.
    if url.as_str().len() > MAX_LEN {
        return None;
    }
    Some(HttpsUrl { url, host })
}

/// `host` is `domain` or a subdomain of it.
pub fn host_within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .and_then(|rest| rest.strip_suffix('.'))
            .is_some_and(|sub| !sub.is_empty() && sub.split('.').all(|l| !l.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        for ok in [
            "https://tmall.com",
            "https://nike.tmall.com/shop",
            "https://NIKE.TMALL.COM/",
            "https://tmall.com./",
            "https://img.alicdn.com/logo.png",
            " https://a.b.tmall.com/x?y=1 ",
            // the default port is no port: the url crate drops it
            "https://x.tmall.com:443/",
        ] {
            assert!(parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "http://x.tmall.com",
            "https://user:pw@nike.tmall.com",
            "https://tmall.com@evil.example",
            "ftp://tmall.com",
            "tmall.com",
            "https://1.2.3.4/",
            "https://[::1]/",
            "https://tmall.com:8443/",
            "",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse(&format!("https://a.example/{}", "x".repeat(MAX_LEN))).is_none());
        // Within the bound as sent, past it in normal form (a `/` added, spaces encoded).
        let host = format!("https://{}.example", "a".repeat(MAX_LEN - 16));
        assert_eq!(host.len(), MAX_LEN);
        assert!(parse(&host).is_none());
        let spaced = format!("https://a.example/{}", " x".repeat(700));
        assert!(spaced.len() <= MAX_LEN && parse(&spaced).is_none());
    }

    #[test]
    fn hosts_within_a_domain() {
        let within = |raw: &str| parse(raw).unwrap().is_within(TMALL_OR_TAOBAO);
        assert!(within("https://tmall.com/"));
        assert!(within("https://brand.tmall.com/"));
        assert!(within("https://item.taobao.com/x"));
        assert!(within("https://tmall.com./"));
        assert!(!within("https://tmall.com.evil.example/"));
        assert!(!within("https://eviltmall.com/"));
        assert!(!within("https://item.taobao.com.cn/"));
        assert!(!within("https://evil.example/?https://tmall.com"));
        assert!(!within("https://evil.example#.tmall.com"));
        assert!(!host_within("a..tmall.com", "tmall.com"));
    }
}
