//! Redaction by structure: what a report may show of an exchange.
//!
//! Every exchange of every role passes [`seal`] before it is stored in a report ([`crate::runner::conclude`] is
//! the only caller). Observations and checks keep the raw values; only the stored copy is redacted.
//!
//! A secret is replaced by a [`mask`] that keeps its length and, for values of at least [`HASHED_MIN_LEN`]
//! characters, the first 12 hex digits of its SHA-256 (so a reader can see that two exchanges carried the same
//! value); never the value, a prefix or a suffix of it, or a JWT's signature. Those values also get a
//! [`TokenEvidence`] entry, with the decoded header and claims for a JWT. Where secrets are found:
//!
//! - JSON bodies, at any depth: the string values under a member named in [`SECRET_NAMES`] (also inside arrays
//!   and objects under that member);
//! - forms, URL queries and URL fragments (request URLs, `Location`, and URLs inside any text): the values of
//!   parameters named in [`SECRET_NAMES`];
//! - headers: the credentials of [`CREDENTIAL_HEADERS`] (the scheme is kept), every cookie value of `Cookie`
//!   and `Set-Cookie` (names and attributes are kept);
//! - anywhere: a string shaped like a JWT (`eyJ…` header that decodes to JSON, three segments);
//! - anywhere, as a second net: every value found above in any exchange of the run, and every secret the
//!   suite registered ([`crate::evidence::EvidenceLog::register_secret`]), wherever it appears whole (an
//!   error message, an HTML page); `runner::conclude` casts the same net over the checks' texts, the run notes
//!   and the client runs' output.
//!
//! `state` is not a secret and stays readable.

use std::collections::BTreeSet;

use mcp_auth_reports::{Exchange, TokenEvidence};

use crate::evidence::{decode_jwt, sha256_hex};

/// JSON member and form, query and fragment parameter names whose values are secrets: the one list (every
/// other place asks [`is_secret_name`] or reads this).
pub const SECRET_NAMES: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "device_code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "assertion",
    "subject_token",
    "actor_token",
    "token",
    "registration_access_token",
    "password",
];

/// Headers whose value is a credential (after an optional scheme word).
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "dpop"];

/// Headers whose value is a URL whose query or fragment may hold secrets.
const URL_HEADERS: &[&str] = &["location", "content-location"];

/// The shortest value a name-based rule treats as a secret: shorter values (`code=1`) are kept, and the
/// known-value net ignores them too.
const MIN_SECRET_LEN: usize = 4;

/// The shortest value found by structure that the known-value net then hides everywhere: a short one (a cookie
/// `consent=true`) would blot out ordinary words of every exchange.
const NET_MIN_FOUND_LEN: usize = 8;

/// Whether `name` (a JSON member, form/query parameter) holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Secrets at least this long are shown with a SHA-256 prefix (and get token evidence with the full hash); a
/// shorter one (a password, a short code) by its length only, since a hash of a short value can be brute-forced.
pub const HASHED_MIN_LEN: usize = 32;

/// How a secret is shown: its length and, when it is long enough, a SHA-256 prefix; nothing of the value.
pub fn mask(value: &str) -> String {
    let len = value.chars().count();
    if len < HASHED_MIN_LEN {
        return format!("[redacted {len} chars]");
    }
    let kind = if decode_jwt(value).is_some() {
        "JWT "
    } else {
        ""
    };
    format!(
        "[redacted {kind}{len} chars sha256:{}]",
        &sha256_hex(value)[..12]
    )
}

/// Whether a value is (the start of) a mask: masks hold spaces, so word-splitting rules see only their start.
fn is_mask(value: &str) -> bool {
    value.starts_with("[redacted")
}

/// Evidence for one secret: the mask, length, full SHA-256, and for a JWT its decoded header and claims.
pub fn token_evidence(value: &str) -> TokenEvidence {
    let mut ev = TokenEvidence::new(mask(value), value.len(), sha256_hex(value));
    if let Some((header, claims)) = decode_jwt(value) {
        ev.jwt_header = Some(header);
        ev.jwt_claims = Some(claims);
    }
    ev
}

/// Collects the secrets an exchange's redaction found, in order, once each.
#[derive(Debug, Default)]
pub struct Found(Vec<String>);

impl Found {
    fn add(&mut self, value: &str) -> String {
        if !self.0.iter().any(|v| v == value) {
            self.0.push(value.to_owned());
        }
        mask(value)
    }

    pub fn values(&self) -> &[String] {
        &self.0
    }
}

/// Redacts the exchanges of a run for its report: structure first, then every value found (in any exchange)
/// or `known` wherever it appears; bodies are then cut at `record_cap` bytes.
/// Also returns every secret it knows of (`known` and what it found), for the net over the rest of the report.
pub fn seal(
    exchanges: &[Exchange],
    known: &BTreeSet<String>,
    record_cap: usize,
) -> (Vec<Exchange>, BTreeSet<String>) {
    let mut all: BTreeSet<String> = known.clone();
    let mut structural = Vec::with_capacity(exchanges.len());
    for e in exchanges {
        let mut found = Found::default();
        let redacted = redact_exchange(e, &mut found);
        all.extend(
            found
                .0
                .iter()
                .filter(|v| v.len() >= NET_MIN_FOUND_LEN)
                .cloned(),
        );
        structural.push((redacted, found));
    }
    let net = Net::new(&all);
    let sealed = structural
        .into_iter()
        .map(|(mut e, found)| {
            let r = &mut e.request;
            r.url = net.apply(&r.url);
            for (_, v) in &mut r.headers {
                *v = net.apply(v);
            }
            r.body = r.body.as_deref().map(|b| cut(&net.apply(b), record_cap).0);
            if let Some(resp) = &mut e.response {
                for (_, v) in &mut resp.headers {
                    *v = net.apply(v);
                }
                if let Some(b) = resp.body.take() {
                    let (text, truncated) = cut(&net.apply(&b), record_cap);
                    resp.body = Some(text);
                    resp.body_truncated |= truncated;
                }
            }
            e.error = e.error.as_deref().map(|t| net.apply(t));
            e.purpose = net.apply(&e.purpose);
            let mut tokens: Vec<TokenEvidence> = found
                .0
                .iter()
                .filter(|v| v.chars().count() >= HASHED_MIN_LEN)
                .map(|v| token_evidence(v))
                .collect();
            for t in std::mem::take(&mut e.tokens) {
                if !tokens.iter().any(|k| k.sha256 == t.sha256) {
                    tokens.push(t);
                }
            }
            e.tokens = tokens;
            e
        })
        .collect();
    (sealed, all)
}

/// The known-value net alone: every value of `secrets` replaced by its mask wherever it appears whole. To redact
/// many texts with the same secrets, build one [`Net`]: its masks are computed once.
pub fn redact_known(text: &str, secrets: &BTreeSet<String>) -> String {
    Net::new(secrets).apply(text)
}

/// The structural rules applied to one exchange (no known-value net, no cut).
pub fn redact_exchange(e: &Exchange, found: &mut Found) -> Exchange {
    let mut out = e.clone();
    let r = &mut out.request;
    r.url = redact_url(&r.url, found);
    for (name, value) in &mut r.headers {
        *value = redact_header(name, value, found);
    }
    r.body = r.body.as_deref().map(|b| redact_body(b, found));
    if let Some(resp) = &mut out.response {
        for (name, value) in &mut resp.headers {
            *value = redact_header(name, value, found);
        }
        resp.body = resp.body.as_deref().map(|b| redact_body(b, found));
    }
    out.error = out.error.as_deref().map(|t| redact_text(t, found));
    out
}

/// One header value.
pub fn redact_header(name: &str, value: &str, found: &mut Found) -> String {
    let lower = name.to_ascii_lowercase();
    if CREDENTIAL_HEADERS.contains(&lower.as_str()) {
        return redact_credentials(value, found);
    }
    match lower.as_str() {
        "cookie" => value
            .split(';')
            .map(|pair| redact_cookie_pair(pair, found))
            .collect::<Vec<_>>()
            .join(";"),
        "set-cookie" => {
            let mut parts = value.splitn(2, ';');
            let first = redact_cookie_pair(parts.next().unwrap_or_default(), found);
            match parts.next() {
                Some(attrs) => format!("{first};{attrs}"),
                None => first,
            }
        }
        h if URL_HEADERS.contains(&h) => redact_url(value, found),
        _ => redact_text(value, found),
    }
}

/// `Scheme credentials`: the scheme kept, every credential word masked. A bare value (a DPoP proof) is masked
/// whole, unless it is a lone scheme word (`Bearer`, the empty-token stimulus).
fn redact_credentials(value: &str, found: &mut Found) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return value.to_owned();
    }
    match trimmed.split_once(' ') {
        Some((scheme, cred)) if !scheme.contains('.') && !cred.trim().is_empty() => {
            let masked: Vec<String> = cred
                .split_whitespace()
                .map(|w| {
                    if is_mask(w) {
                        w.to_owned()
                    } else {
                        found.add(w)
                    }
                })
                .collect();
            format!("{scheme} {}", masked.join(" "))
        }
        // A scheme alone (`Bearer`, the empty-token stimulus) is no credential.
        _ if trimmed.len() <= 10 && trimmed.chars().all(|c| c.is_ascii_alphabetic()) => {
            value.to_owned()
        }
        _ => found.add(trimmed),
    }
}

fn redact_cookie_pair(pair: &str, found: &mut Found) -> String {
    match pair.split_once('=') {
        Some((name, v)) => {
            let v = v.trim().trim_matches('"');
            if v.is_empty() || is_mask(v) {
                pair.to_owned()
            } else {
                format!("{name}={}", found.add(v))
            }
        }
        None => pair.to_owned(),
    }
}

/// A URL: the secret parameters of its query and fragment, and JWTs anywhere in it.
pub fn redact_url(url: &str, found: &mut Found) -> String {
    let (rest, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (url, None),
    };
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let mut out = redact_jwts(base, found);
    if let Some(q) = query {
        out.push('?');
        out.push_str(&redact_form(q, found));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&redact_form(f, found));
    }
    out
}

/// `application/x-www-form-urlencoded` (a body, a query, a fragment): the values of secret parameters.
pub fn redact_form(form: &str, found: &mut Found) -> String {
    form.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if is_secret_name(&form_decode(k)) && !v.is_empty() => {
                let value = form_decode(v);
                if value.len() < MIN_SECRET_LEN || is_mask(&value) {
                    pair.to_owned()
                } else {
                    format!("{k}={}", found.add(&value))
                }
            }
            _ => redact_jwts(pair, found),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// A body: JSON when it parses (secret members at any depth), a form when it looks like one, else text.
pub fn redact_body(body: &str, found: &mut Found) -> String {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) {
            let before = found.0.len();
            let changed = redact_json(&mut v, false, found);
            if changed || found.0.len() != before {
                return serde_json::to_string(&v).unwrap_or_else(|_| body.to_owned());
            }
            return body.to_owned();
        }
    }
    if looks_like_form(body) {
        return redact_form(body, found);
    }
    redact_text(body, found)
}

fn looks_like_form(body: &str) -> bool {
    !body.is_empty()
        && body.contains('=')
        && !body
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '"')
}

/// Masks secret members (and everything under them) and secret-shaped strings anywhere. True when changed.
fn redact_json(v: &mut serde_json::Value, under_secret: bool, found: &mut Found) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if is_mask(s) {
                return false;
            }
            let new = if under_secret && s.len() >= MIN_SECRET_LEN {
                found.add(s)
            } else {
                redact_text(s, found)
            };
            let changed = new != *s;
            *s = new;
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |c, i| redact_json(i, under_secret, found) | c),
        Value::Object(map) => map.iter_mut().fold(false, |c, (k, i)| {
            redact_json(i, under_secret || is_secret_name(k), found) | c
        }),
        _ => false,
    }
}

/// Free text (an HTML page, an error message, a header): JWTs anywhere, and the values of secret parameters in
/// `name=value` (URLs, forms) and `"name": "value"` (JSON fragments) spellings.
pub fn redact_text(text: &str, found: &mut Found) -> String {
    let text = redact_jwts(text, found);
    let text = redact_assignments(&text, found);
    redact_json_members(&text, found)
}

/// Characters of a base64url segment.
fn b64(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Every `eyJ….….…` run whose header decodes as JSON.
fn redact_jwts(text: &str, found: &mut Found) -> String {
    if !text.contains("eyJ") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("eyJ") {
        let starts_word = rest[..pos]
            .chars()
            .next_back()
            .is_none_or(|c| !b64(c) && c != '.');
        let candidate_len = rest[pos..]
            .find(|c: char| !(b64(c) || c == '.'))
            .unwrap_or(rest.len() - pos);
        let candidate = rest[pos..pos + candidate_len].trim_end_matches('.');
        if starts_word && candidate.matches('.').count() >= 2 && decode_jwt(candidate).is_some() {
            out.push_str(&rest[..pos]);
            out.push_str(&found.add(candidate));
            rest = &rest[pos + candidate.len()..];
        } else {
            out.push_str(&rest[..pos + 3]);
            rest = &rest[pos + 3..];
        }
    }
    out.push_str(rest);
    out
}

/// `name=value` with a secret name, preceded by a boundary (`?`, `&`, `#`, `;`, whitespace, a quote, start).
fn redact_assignments(text: &str, found: &mut Found) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let boundary = i == 0 || b"?&#; \t\n\r\"'(,".contains(&bytes[i - 1]);
        if boundary && bytes[i].is_ascii_alphabetic() {
            let name_len = text[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(text.len() - i);
            let eq = i + name_len;
            if eq < bytes.len() && bytes[eq] == b'=' && is_secret_name(&text[i..eq]) {
                let start = eq + 1;
                let len = text[start..]
                    .find(|c: char| "&#\"'<> \t\r\n;,)".contains(c))
                    .unwrap_or(text.len() - start);
                let raw = &text[start..start + len];
                let value = form_decode(raw);
                if value.len() >= MIN_SECRET_LEN && !is_mask(raw) {
                    out.push_str(&text[copied..start]);
                    out.push_str(&found.add(&value));
                    copied = start + len;
                }
                i = start + len;
                continue;
            }
            i = eq.max(i + 1);
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// `"name": "value"` with a secret name, in text that is not (or not whole) JSON.
fn redact_json_members(text: &str, found: &mut Found) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(q) = rest.find('"') {
        let after = &rest[q + 1..];
        let Some(close) = after.find('"') else { break };
        let name = &after[..close];
        let tail = &after[close + 1..];
        let colon = tail.trim_start();
        if is_secret_name(name) && colon.starts_with(':') {
            let value_part = colon[1..].trim_start();
            if let Some(v) = value_part.strip_prefix('"') {
                let end = string_end(v);
                let value = &v[..end];
                let value_start = rest.len() - v.len();
                if value.len() >= MIN_SECRET_LEN && !is_mask(value) {
                    out.push_str(&rest[..value_start]);
                    out.push_str(&found.add(&unescape(value)));
                    rest = &v[end..];
                    continue;
                }
            }
        }
        out.push_str(&rest[..q + 1 + close + 1]);
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Where a JSON string body ends (the unescaped `"`, or the end of the text).
fn string_end(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return i,
            _ => {}
        }
    }
    s.len()
}

fn unescape(s: &str) -> String {
    serde_json::from_str::<String>(&format!("\"{s}\"")).unwrap_or_else(|_| s.to_owned())
}

/// The known-value net: each secret with its mask, longest first, so a secret that contains another is replaced
/// whole. Building it masks every secret (a hash, and a JWT decode), so a run builds it once per set of secrets.
pub struct Net {
    ordered: Vec<(String, String)>,
}

impl Net {
    /// The net over `values` (values shorter than the secret minimum, and masks, are left out).
    pub fn new(values: &BTreeSet<String>) -> Self {
        let mut ordered: Vec<(String, String)> = values
            .iter()
            .filter(|s| s.len() >= MIN_SECRET_LEN && !is_mask(s))
            .map(|s| (s.clone(), mask(s)))
            .collect();
        ordered.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        Net { ordered }
    }

    /// `text` with every secret of the net replaced by its mask.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (s, m) in &self.ordered {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), m);
            }
        }
        out
    }
}

/// Cuts text at `cap` bytes (on a char boundary, [`fake_idp::cut_text`]), saying whether anything was cut.
pub fn cut(text: &str, cap: usize) -> (String, bool) {
    (fake_idp::cut_text(text, cap), text.len() > cap)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use mcp_auth_reports::{HttpRequest, HttpResponse};

    use super::*;

    fn jwt(sub: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"at+jwt"}"#);
        let c = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{sub}"}}"#));
        format!("{h}.{c}.c2lnbmF0dXJlLWJ5dGVzLW9mLXRoZS10b2tlbg")
    }

    fn body(text: &str) -> (String, Vec<String>) {
        let mut found = Found::default();
        let out = redact_body(text, &mut found);
        (out, found.values().to_vec())
    }

    #[test]
    fn a_mask_keeps_the_length_and_a_sha256_prefix() {
        let t = "opaque-refresh-token-0123456789abcdef";
        assert_eq!(
            mask(t),
            format!("[redacted 37 chars sha256:{}]", &sha256_hex(t)[..12])
        );
        assert!(mask(&jwt("alice")).starts_with("[redacted JWT "));
    }

    #[test]
    fn a_short_secret_shows_its_length_only() {
        let (out, _) = body("code=Ab12&password=hunter2-pass&state=xyz");
        assert_eq!(
            out,
            "code=[redacted 4 chars]&password=[redacted 12 chars]&state=xyz"
        );
    }

    #[test]
    fn json_secret_members_are_masked_at_any_depth_and_under_them() {
        let (out, found) = body(
            r#"{"a":{"b":[{"refresh_token":"rt-secret-1"}]},"id_token":["x-secret-2",{"v":"x-secret-3"}],"scope":"todo:read"}"#,
        );
        for s in ["rt-secret-1", "x-secret-2", "x-secret-3"] {
            assert!(!out.contains(s), "{out}");
            assert!(found.contains(&s.to_owned()));
        }
        assert!(out.contains(r#""scope":"todo:read""#), "{out}");
    }

    #[test]
    fn a_jwt_is_masked_wherever_it_is_and_its_claims_stay_in_the_token_evidence() {
        let t = jwt("alice");
        let (out, found) = body(&format!(r#"{{"tokens":["{t}"],"note":"Bearer {t}"}}"#));
        assert!(!out.contains("eyJ"), "{out}");
        assert_eq!(found, vec![t.clone()]);
        let ev = token_evidence(&t);
        assert_eq!(ev.jwt_claims.unwrap()["sub"], "alice");
        assert!(
            !ev.redacted.contains("c2lnbmF0dXJl"),
            "no part of the signature"
        );
    }

    #[test]
    fn form_secrets_are_masked_and_other_parameters_kept() {
        let (out, found) = body(
            "grant_type=authorization_code&code=code-value-1&code_verifier=verifier-value-2&client_secret=s%2Bcret-3&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb",
        );
        assert!(
            out.starts_with("grant_type=authorization_code&code=[redacted "),
            "{out}"
        );
        assert!(
            out.ends_with("&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb"),
            "{out}"
        );
        assert_eq!(found, vec!["code-value-1", "verifier-value-2", "s+cret-3"]);
    }

    #[test]
    fn query_and_fragment_secrets_are_masked_and_state_is_kept() {
        let mut found = Found::default();
        let out = redact_url(
            "http://127.0.0.1/cb?code=query-code-1&state=st-1#access_token=frag-token-2&token_type=bearer",
            &mut found,
        );
        assert!(out.contains("state=st-1"), "{out}");
        assert!(out.contains("token_type=bearer"), "{out}");
        assert!(
            !out.contains("query-code-1") && !out.contains("frag-token-2"),
            "{out}"
        );
        assert_eq!(found.values(), ["query-code-1", "frag-token-2"]);
    }

    #[test]
    fn location_headers_are_redacted_like_urls() {
        let mut found = Found::default();
        let out = redact_header(
            "Location",
            "http://127.0.0.1/cb?state=s#access_token=fragment-token",
            &mut found,
        );
        assert_eq!(
            out,
            format!(
                "http://127.0.0.1/cb?state=s#access_token={}",
                mask("fragment-token")
            )
        );
    }

    #[test]
    fn cookie_values_are_masked_and_names_and_attributes_kept() {
        let mut found = Found::default();
        let cookie = redact_header("cookie", "sid=session-1; theme=dark-mode", &mut found);
        assert!(
            cookie.starts_with("sid=[redacted ") && cookie.contains("; theme=[redacted "),
            "{cookie}"
        );
        let set = redact_header("Set-Cookie", "sid=session-2; Path=/; HttpOnly", &mut found);
        assert!(
            set.starts_with("sid=[redacted ") && set.ends_with("; Path=/; HttpOnly"),
            "{set}"
        );
        assert_eq!(found.values(), ["session-1", "dark-mode", "session-2"]);
    }

    #[test]
    fn credentials_keep_their_scheme_only() {
        let mut found = Found::default();
        assert_eq!(
            redact_header("Authorization", "Basic Y2xpZW50OnNlY3JldA==", &mut found),
            format!("Basic {}", mask("Y2xpZW50OnNlY3JldA=="))
        );
        let t = jwt("bob");
        assert_eq!(redact_header("DPoP", &t, &mut found), mask(&t));
        assert_eq!(
            redact_header("authorization", "Bearer", &mut found),
            "Bearer"
        );
    }

    #[test]
    fn free_text_loses_secret_assignments_json_fragments_and_jwts() {
        let mut found = Found::default();
        let t = jwt("carol");
        let out = redact_text(
            &format!(
                r#"<a href="/cb?code=html-code-1&state=s">go</a> {{"refresh_token": "cut-json-2 {t}"#
            ),
            &mut found,
        );
        assert!(
            !out.contains("html-code-1") && !out.contains("cut-json-2") && !out.contains("eyJ"),
            "{out}"
        );
        assert!(out.contains("state=s"), "{out}");
    }

    #[test]
    fn sealing_masks_echoed_secrets_everywhere_and_cuts_after_redacting() {
        const RT: &str = "refresh-secret-1-0123456789abcdef";
        let mut token_req = HttpRequest::new("POST", "http://127.0.0.1/token");
        token_req.body = Some(format!("grant_type=refresh_token&refresh_token={RT}"));
        let mut token = Exchange::new("t#1", "refresh", token_req);
        let mut resp = HttpResponse::new(400);
        // Cut first, the body would keep `refresh-se`, a prefix of the secret.
        resp.body = Some(format!("<p>{}{RT} was revoked</p>", "y".repeat(17)));
        resp.headers = vec![("x-debug".into(), "login as registered-pw".into())];
        token.response = Some(resp);
        token.request.headers = vec![("authorization".into(), "Basic c2hvcnQ6cHc=".into())];
        let known: BTreeSet<String> = ["registered-pw".to_owned()].into();
        let (sealed, all) = seal(&[token], &known, 30);
        let resp = sealed[0].response.as_ref().unwrap();
        let text = resp.body.as_deref().unwrap();
        assert!(resp.body_truncated);
        assert!(!text.contains("refresh-se"), "{text}");
        assert_eq!(
            resp.headers[0].1,
            format!("login as {}", mask("registered-pw"))
        );
        assert!(all.contains(RT) && all.contains("registered-pw"));
        // The short Basic credential is masked but gets no token evidence (no hash of a short value).
        assert_eq!(sealed[0].tokens.len(), 1);
        assert_eq!(sealed[0].tokens[0].sha256, sha256_hex(RT));
    }

    #[test]
    fn a_short_value_found_by_structure_does_not_blot_out_ordinary_words() {
        let mut resp = HttpResponse::new(200);
        resp.headers = vec![("set-cookie".into(), "consent=true; Path=/".into())];
        resp.body = Some(r#"{"cimd_supported":true}"#.into());
        let mut e = Exchange::new(
            "c#1",
            "cookie",
            HttpRequest::new("GET", "http://127.0.0.1/"),
        );
        e.response = Some(resp);
        let (sealed, _) = seal(&[e], &BTreeSet::new(), 1024);
        let resp = sealed[0].response.as_ref().unwrap();
        assert_eq!(resp.headers[0].1, "consent=[redacted 4 chars]; Path=/");
        assert_eq!(resp.body.as_deref(), Some(r#"{"cimd_supported":true}"#));
    }
}
