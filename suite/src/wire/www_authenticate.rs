//! `WWW-Authenticate` parsing per RFC 9110 §11.6.1, strict enough to judge a target and lenient enough
//! to report what a broken header said.
//!
//! ```text
//! challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param  = token BWS "=" BWS ( token / quoted-string )
//! ```
//! Several challenges may share one header line (comma-separated) or come in several lines.

/// One challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub token68: Option<String>,
    /// Parameters in order, names lowercased, values unquoted. Duplicates are kept (RS-WWW-06 judges them).
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }

    /// The first value of a parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many times a parameter appears.
    pub fn count(&self, name: &str) -> usize {
        self.params
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// The `scope` parameter as a set of scope tokens.
    pub fn scopes(&self) -> Option<std::collections::BTreeSet<String>> {
        self.param("scope").map(|s| {
            s.split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }
}

/// Why a header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed WWW-Authenticate at byte {at}: {reason}")]
pub struct ParseError {
    pub at: usize,
    pub reason: &'static str,
}

/// Parses every header line and returns all challenges in order.
pub fn parse_all<'a, I>(lines: I) -> Result<Vec<Challenge>, ParseError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut out = Vec::new();
    for line in lines {
        out.extend(parse(line)?);
    }
    Ok(out)
}

/// Parses one header value.
pub fn parse(input: &str) -> Result<Vec<Challenge>, ParseError> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ows_and_commas();
        if p.done() {
            break;
        }
        let scheme = p.token().ok_or(p.err("expected an auth-scheme"))?;
        let mut ch = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        // After the scheme: end, a comma (next challenge), or 1*SP then token68 / auth-params.
        let had_space = p.skip_sp();
        if !had_space || p.done() || p.peek() == Some(b',') {
            out.push(ch);
            continue;
        }
        if let Some(t68) = p.try_token68() {
            ch.token68 = Some(t68);
            out.push(ch);
            continue;
        }
        loop {
            let (name, value) = p.auth_param()?;
            ch.params.push((name.to_ascii_lowercase(), value));
            p.skip_ows();
            if p.done() {
                break;
            }
            if p.peek() != Some(b',') {
                return Err(p.err("expected `,` between auth-params"));
            }
            // Commas may separate params of this challenge or start the next challenge.
            p.skip_ows_and_commas();
            if p.done() || !p.at_auth_param() {
                break;
            }
        }
        out.push(ch);
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_token68_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn err(&self, reason: &'static str) -> ParseError {
        ParseError { at: self.i, reason }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_sp(&mut self) -> bool {
        let start = self.i;
        self.skip_ows();
        self.i > start
    }

    fn skip_ows_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// Whether the input at the cursor is `token BWS "="` followed by something other than `=` (an auth-param).
    fn at_auth_param(&self) -> bool {
        let mut j = self.i;
        let start = j;
        while self.s.get(j).copied().is_some_and(is_tchar) {
            j += 1;
        }
        if j == start {
            return false;
        }
        while matches!(self.s.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if self.s.get(j) != Some(&b'=') {
            return false;
        }
        j += 1;
        while matches!(self.s.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        !matches!(self.s.get(j), None | Some(b'=' | b','))
    }

    /// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", ending the challenge.
    fn try_token68(&mut self) -> Option<String> {
        if self.at_auth_param() {
            return None;
        }
        let start = self.i;
        let mut j = self.i;
        while self.s.get(j).copied().is_some_and(is_token68_char) {
            j += 1;
        }
        if j == start {
            return None;
        }
        while self.s.get(j) == Some(&b'=') {
            j += 1;
        }
        let mut k = j;
        while matches!(self.s.get(k), Some(b' ' | b'\t')) {
            k += 1;
        }
        if !matches!(self.s.get(k), None | Some(b',')) {
            return None;
        }
        self.i = j;
        Some(String::from_utf8_lossy(&self.s[start..j]).into_owned())
    }

    fn auth_param(&mut self) -> Result<(String, String), ParseError> {
        let name = self
            .token()
            .ok_or(self.err("expected an auth-param name"))?;
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Err(self.err("expected `=` after an auth-param name"));
        }
        self.i += 1;
        self.skip_ows();
        let value = if self.peek() == Some(b'"') {
            self.quoted_string()?
        } else {
            self.token()
                .ok_or(self.err("expected a token or quoted-string value"))?
        };
        Ok((name, value))
    }

    fn quoted_string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated quoted-string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self
                        .peek()
                        .ok_or(self.err("dangling escape in quoted-string"))?;
                    out.push(c);
                    self.i += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// RFC 6750 §3: `scope` values are scope-tokens (%x21 / %x23-5B / %x5D-7E) separated by single spaces.
pub fn scope_value_is_legal(v: &str) -> bool {
    !v.is_empty()
        && v.split(' ').all(|tok| {
            !tok.is_empty()
                && tok
                    .bytes()
                    .all(|c| c == 0x21 || (0x23..=0x5B).contains(&c) || (0x5D..=0x7E).contains(&c))
        })
}

/// RFC 6750 §3: `error` and `error_description` use %x20-21 / %x23-5B / %x5D-7E.
pub fn error_value_is_legal(v: &str) -> bool {
    v.bytes().all(|c| {
        (0x20..=0x21).contains(&c) || (0x23..=0x5B).contains(&c) || (0x5D..=0x7E).contains(&c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn bearer_with_quoted_params() {
        let c = parse(r#"Bearer resource_metadata="http://h/.well-known/oauth-protected-resource/mcp", scope="a b""#)
            .unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].is_bearer());
        assert_eq!(
            c[0].param("resource_metadata"),
            Some("http://h/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(c[0].scopes().unwrap().len(), 2);
    }

    #[test]
    fn bare_scheme_has_no_params() {
        let c = parse("Bearer").unwrap();
        assert_eq!(c[0].params.len(), 0);
        assert_eq!(c[0].token68, None);
    }

    #[test]
    fn two_challenges_in_one_line() {
        let c = parse(r#"DPoP algs="ES256", Bearer realm="x", error="invalid_token""#).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme, "DPoP");
        assert_eq!(c[1].param("error"), Some("invalid_token"));
        assert_eq!(c[1].param("realm"), Some("x"));
    }

    #[test]
    fn token68_challenge() {
        let c = parse("Negotiate abc+/def==, Bearer").unwrap();
        assert_eq!(c[0].token68.as_deref(), Some("abc+/def=="));
        assert!(c[1].is_bearer());
    }

    #[test]
    fn duplicates_are_kept_for_judgement() {
        let c = parse(r#"Bearer scope="a", scope="b""#).unwrap();
        assert_eq!(c[0].count("scope"), 2);
    }

    #[test]
    fn escaped_quotes_are_unescaped() {
        let c = parse(r#"Bearer error_description="say \"hi\"""#).unwrap();
        assert_eq!(c[0].param("error_description"), Some(r#"say "hi""#));
    }

    #[test]
    fn token_values_and_param_names_are_case_folded() {
        let c = parse("bearer Error=invalid_token").unwrap();
        assert!(c[0].is_bearer());
        assert_eq!(c[0].param("error"), Some("invalid_token"));
    }

    #[rstest]
    #[case::unterminated(r#"Bearer scope="a"#)]
    #[case::garbage_after_param(r#"Bearer scope="a" junk"#)]
    fn malformed_headers_are_errors(#[case] header: &str) {
        assert!(parse(header).is_err(), "{header}");
    }

    #[test]
    fn a_trailing_equals_reads_as_token68() {
        let c = parse("Bearer scope=").unwrap();
        assert_eq!(c[0].token68.as_deref(), Some("scope="));
    }

    #[test]
    fn several_lines_concatenate() {
        let c = parse_all(["Bearer realm=\"a\"", "DPoP"]).unwrap();
        assert_eq!(c.len(), 2);
    }

    #[rstest]
    #[case::simple("todo:read todo:write", true)]
    #[case::double_space("a  b", false)]
    #[case::quote("a\"b", false)]
    #[case::backslash("a\\b", false)]
    #[case::empty("", false)]
    fn scope_charset(#[case] v: &str, #[case] ok: bool) {
        assert_eq!(scope_value_is_legal(v), ok);
    }
}
