//! The user agent's cookie jar (RFC 6265 §5.3, the parts a login session needs): cookies stored per host or
//! domain and path, `Secure` honoured with loopback counted as a secure context (as browsers do: the reference
//! AS runs on plain http there), `Max-Age` over `Expires`, replacement by name and deletion by expiry.
//!
//! Hand-written rather than `cookie_store` or reqwest's `cookies` feature: the agent adds the `Cookie` header
//! itself, so the suite's [`Http`](crate::http::Http) records it as evidence (reqwest's store would add it
//! below the recording layer, and be shared by every clone of the client, where each agent needs its own jar);
//! the time is passed in, so expiry is tested without waiting; and a jar for one AS needs neither a public
//! suffix list nor persistence.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use crate::http::is_loopback_host;

/// One stored cookie (RFC 6265 §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    /// The host that set it (host-only) or its `Domain` attribute, lowercase, without a leading dot.
    pub domain: String,
    pub host_only: bool,
    pub path: String,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<String>,
    /// `None`: a session cookie.
    pub expires: Option<SystemTime>,
}

impl Cookie {
    fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|t| t <= now)
    }

    fn matches(&self, url: &Url, now: SystemTime) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let domain_ok = if self.host_only {
            host == self.domain
        } else {
            domain_match(&host, &self.domain)
        };
        // Loopback counts as a secure context, as in browsers: the reference AS runs on plain http there.
        let secure_ok = !self.secure || url.scheme() == "https" || is_loopback_host(&host);
        domain_ok && secure_ok && path_match(url.path(), &self.path) && !self.expired(now)
    }
}

/// A cookie jar, per host. The time is passed in, so expiry is testable without waiting.
#[derive(Debug, Default)]
pub struct CookieJar {
    cookies: Mutex<Vec<Cookie>>,
}

impl CookieJar {
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// Stores (or replaces, or deletes when already expired) the cookie of one `Set-Cookie` line received
    /// from `url`. Malformed lines and `Domain` attributes that do not cover the host are ignored.
    pub fn store(&self, url: &Url, set_cookie: &str, now: SystemTime) {
        let Some(cookie) = parse_set_cookie(url, set_cookie, now) else {
            return;
        };
        let mut jar = self.lock();
        let existing = jar.iter().position(|c| {
            c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path
        });
        match (existing, cookie.expired(now)) {
            (Some(i), true) => {
                jar.remove(i);
            }
            (Some(i), false) => jar[i] = cookie,
            (None, true) => {}
            (None, false) => jar.push(cookie),
        }
    }

    /// The `Cookie` header value for a request to `url`: longer paths first, then oldest first.
    pub fn cookie_header(&self, url: &Url, now: SystemTime) -> Option<String> {
        let jar = self.lock();
        let mut matching: Vec<&Cookie> = jar.iter().filter(|c| c.matches(url, now)).collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        Some(
            matching
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// Every stored cookie, expired or not.
    pub fn cookies(&self) -> Vec<Cookie> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Cookie>> {
        self.cookies.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn parse_set_cookie(url: &Url, line: &str, now: SystemTime) -> Option<Cookie> {
    let mut parts = line.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let mut cookie = Cookie {
        name: name.to_owned(),
        value: value.trim().trim_matches('"').to_owned(),
        domain: host.clone(),
        host_only: true,
        path: default_path(url.path()),
        secure: false,
        http_only: false,
        same_site: None,
        expires: None,
    };
    let mut max_age: Option<SystemTime> = None;
    for attr in parts {
        let (key, val) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr.trim(), ""),
        };
        match key.to_ascii_lowercase().as_str() {
            "expires" => {
                if let Ok(t) = httpdate::parse_http_date(val) {
                    cookie.expires = Some(t);
                }
            }
            "max-age" => {
                if let Ok(secs) = val.parse::<i64>() {
                    max_age = Some(if secs <= 0 {
                        UNIX_EPOCH
                    } else {
                        now + Duration::from_secs(secs.unsigned_abs())
                    });
                }
            }
            "domain" => {
                let domain = val.trim_start_matches('.').to_ascii_lowercase();
                if domain.is_empty() {
                    continue;
                }
                if !domain_match(&host, &domain)
                    || (domain != host && host.parse::<std::net::IpAddr>().is_ok())
                {
                    return None;
                }
                cookie.domain = domain;
                cookie.host_only = false;
            }
            "path" if val.starts_with('/') => cookie.path = val.to_owned(),
            "secure" => cookie.secure = true,
            "httponly" => cookie.http_only = true,
            "samesite" => cookie.same_site = Some(val.to_owned()),
            _ => {}
        }
    }
    // Max-Age wins over Expires, whatever their order.
    if max_age.is_some() {
        cookie.expires = max_age;
    }
    Some(cookie)
}

fn domain_match(host: &str, domain: &str) -> bool {
    host == domain || (host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.'))
}

/// RFC 6265 §5.1.4.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) if request_path.starts_with('/') => request_path[..i].to_owned(),
        Some(_) => "/".to_owned(),
    }
}

/// RFC 6265 §5.1.4.
fn path_match(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn host_only_cookies_go_back_to_their_host_only() {
        let jar = CookieJar::new();
        jar.store(&u("http://as.conformance.test/login"), "sid=1", at(0));
        assert_eq!(
            jar.cookie_header(&u("http://as.conformance.test/consent"), at(0)),
            Some("sid=1".into())
        );
        assert_eq!(
            jar.cookie_header(&u("http://sub.as.conformance.test/consent"), at(0)),
            None
        );
        assert_eq!(
            jar.cookie_header(&u("http://127.0.0.1/consent"), at(0)),
            None
        );
    }

    #[test]
    fn a_domain_cookie_covers_subdomains_and_a_foreign_domain_is_refused() {
        let jar = CookieJar::new();
        jar.store(
            &u("http://a.conformance.test/"),
            "d=1; Domain=.conformance.test",
            at(0),
        );
        jar.store(
            &u("http://a.conformance.test/"),
            "x=1; Domain=example.com",
            at(0),
        );
        assert_eq!(
            jar.cookie_header(&u("http://b.conformance.test/"), at(0)),
            Some("d=1".into())
        );
        assert_eq!(jar.cookies().len(), 1);
    }

    #[test]
    fn cookies_match_by_path_longest_first() {
        let jar = CookieJar::new();
        jar.store(&u("http://h.test/a/login"), "dflt=1", at(0));
        jar.store(&u("http://h.test/"), "root=1; Path=/", at(0));
        jar.store(&u("http://h.test/"), "deep=1; Path=/a/b", at(0));
        assert_eq!(
            jar.cookie_header(&u("http://h.test/a/b/c"), at(0)),
            Some("deep=1; dflt=1; root=1".into())
        );
        assert_eq!(
            jar.cookie_header(&u("http://h.test/ab"), at(0)),
            Some("root=1".into())
        );
    }

    #[test]
    fn secure_cookies_go_to_loopback_http_but_not_to_other_http() {
        let jar = CookieJar::new();
        jar.store(
            &u("http://127.0.0.1:8080/"),
            "s=1; Secure; HttpOnly; SameSite=Lax",
            at(0),
        );
        jar.store(&u("http://remote.example/"), "s=2; Secure", at(0));
        assert_eq!(
            jar.cookie_header(&u("http://127.0.0.1:8080/x"), at(0)),
            Some("s=1".into())
        );
        assert_eq!(jar.cookie_header(&u("http://remote.example/"), at(0)), None);
        assert_eq!(
            jar.cookie_header(&u("https://remote.example/"), at(0)),
            Some("s=2".into())
        );
        let stored = &jar.cookies()[0];
        assert!(stored.secure && stored.http_only);
        assert_eq!(stored.same_site.as_deref(), Some("Lax"));
    }

    #[test]
    fn max_age_and_expires_bound_a_cookies_life() {
        let jar = CookieJar::new();
        let url = u("http://h.test/");
        jar.store(&url, "short=1; Max-Age=10", at(1_000));
        jar.store(
            &url,
            "dated=1; Expires=Thu, 01 Jan 1970 00:30:00 GMT",
            at(1_000),
        );
        jar.store(
            &url,
            "both=1; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
            at(1_000),
        );
        assert_eq!(
            jar.cookie_header(&url, at(1_005)),
            Some("short=1; dated=1; both=1".into())
        );
        assert_eq!(
            jar.cookie_header(&url, at(1_050)),
            Some("dated=1; both=1".into())
        );
        assert_eq!(jar.cookie_header(&url, at(1_500)), Some("dated=1".into()));
        assert_eq!(jar.cookie_header(&url, at(1_800)), None);
    }

    #[test]
    fn a_cookie_is_replaced_by_name_and_deleted_by_max_age_zero() {
        let jar = CookieJar::new();
        let url = u("http://h.test/");
        jar.store(&url, "sid=1", at(0));
        jar.store(&url, "sid=2", at(0));
        assert_eq!(jar.cookie_header(&url, at(0)), Some("sid=2".into()));
        jar.store(&url, "sid=; Max-Age=0", at(0));
        assert_eq!(jar.cookie_header(&url, at(0)), None);
        assert!(jar.cookies().is_empty());
    }

    #[test]
    fn malformed_set_cookie_lines_are_ignored() {
        let jar = CookieJar::new();
        let url = u("http://h.test/");
        jar.store(&url, "no-equals-sign", at(0));
        jar.store(&url, "=value-without-name", at(0));
        assert!(jar.cookies().is_empty());
    }
}
