//! `WWW-Authenticate` parsing (RFC 9110 §11.6.1, RFC 6750 §3): several challenges per line,
//! several lines, parameters in any order, case-insensitive scheme and parameter names,
//! quoted strings with escapes, token68 values skipped.

/// One challenge: its scheme and parameters (names lower-cased, values unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme as sent (`Bearer`, `bearer`, `DPoP`).
    pub scheme: String,
    /// `(lower-cased name, value)` in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The first value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the client uses from the Bearer challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `resource_metadata` (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// `scope` (RFC 6750 §3), empty values dropped.
    pub scope: Option<String>,
    /// `error` (`invalid_token`, `insufficient_scope`, ...).
    pub error: Option<String>,
}

impl BearerChallenge {
    /// The first `Bearer` challenge across all header lines; `None` when there is none.
    pub fn from_headers<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let challenge = lines
            .into_iter()
            .flat_map(parse_challenges)
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))?;
        let get = |name: &str| {
            challenge
                .param(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Some(Self {
            resource_metadata: get("resource_metadata"),
            scope: get("scope"),
            error: get("error"),
        })
    }
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_tchar(c: char) -> bool {
    !(is_ws(c) || c == ',' || c == '=' || c == '"' || c.is_control())
}

/// Parses one header line into its challenges. Never fails: malformed parts are skipped.
pub fn parse_challenges(line: &str) -> Vec<Challenge> {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let skip = |i: &mut usize, f: &dyn Fn(char) -> bool| {
        while *i < chars.len() && f(chars[*i]) {
            *i += 1;
        }
    };
    let read_token = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && is_tchar(chars[*i]) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    loop {
        skip(&mut i, &|c| is_ws(c) || c == ',');
        if i >= chars.len() {
            break;
        }
        let scheme = read_token(&mut i);
        if scheme.is_empty() {
            // Stray character (`=` or `"`): skip it.
            i += 1;
            continue;
        }
        let mut challenge = Challenge {
            scheme,
            params: Vec::new(),
        };
        let mut first = true;
        loop {
            skip(&mut i, &is_ws);
            let mark = i;
            let name = read_token(&mut i);
            if name.is_empty() {
                if i < chars.len() && chars[i] == ',' {
                    i += 1;
                    first = false;
                    continue;
                }
                break;
            }
            skip(&mut i, &is_ws);
            if i < chars.len() && chars[i] == '=' {
                // token68 (`abc==`) directly after the scheme.
                let after = chars.get(i + 1).copied();
                if first && matches!(after, None | Some('=') | Some(',') | Some(' ') | Some('\t')) {
                    let mut j = i;
                    while j < chars.len() && chars[j] == '=' {
                        j += 1;
                    }
                    let mut k = j;
                    while k < chars.len() && is_ws(chars[k]) {
                        k += 1;
                    }
                    if k >= chars.len() || chars[k] == ',' {
                        i = j;
                        first = false;
                        continue;
                    }
                }
                i += 1;
                skip(&mut i, &is_ws);
                let value = if i < chars.len() && chars[i] == '"' {
                    i += 1;
                    let mut v = String::new();
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        v.push(chars[i]);
                        i += 1;
                    }
                    i = (i + 1).min(chars.len()); // closing quote (or end)
                    v
                } else {
                    read_token(&mut i)
                };
                challenge.params.push((name.to_ascii_lowercase(), value));
                first = false;
                skip(&mut i, &is_ws);
                if i < chars.len() && chars[i] == ',' {
                    i += 1;
                    continue;
                }
                // Anything else: garbage; let the outer loop resynchronise.
                if i < chars.len() {
                    break;
                }
            } else if first && (i >= chars.len() || chars[i] == ',') {
                // token68 without padding.
                first = false;
                continue;
            } else {
                // A bare token after a comma starts the next challenge.
                i = mark;
                break;
            }
        }
        out.push(challenge);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(lines: &[&str]) -> Option<BearerChallenge> {
        BearerChallenge::from_headers(lines.iter().copied())
    }

    #[test]
    fn plain_bearer_with_params_in_any_order() {
        let c = bearer(&[
            r#"Bearer scope="todo:read todo:write", error="invalid_token", resource_metadata="http://a/x""#,
        ])
        .unwrap();
        assert_eq!(c.resource_metadata.as_deref(), Some("http://a/x"));
        assert_eq!(c.scope.as_deref(), Some("todo:read todo:write"));
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
    }

    #[test]
    fn lowercase_scheme_and_realm() {
        let c = bearer(&[r#"bearer realm="mcp", RESOURCE_METADATA="http://a/prm""#]).unwrap();
        assert_eq!(c.resource_metadata.as_deref(), Some("http://a/prm"));
    }

    #[test]
    fn several_challenges_in_one_line() {
        let c = bearer(&[
            r#"DPoP algs="ES256 PS256", realm="x", Bearer resource_metadata="http://a/prm", scope="r""#,
        ])
        .unwrap();
        assert_eq!(c.resource_metadata.as_deref(), Some("http://a/prm"));
        assert_eq!(c.scope.as_deref(), Some("r"));
        let all = parse_challenges(r#"Basic dXNlcjpwYXNz==, Bearer error=invalid_token"#);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].param("error"), Some("invalid_token"));
    }

    #[test]
    fn several_header_lines() {
        let c = bearer(&[
            r#"DPoP algs="ES256""#,
            r#"Bearer resource_metadata="http://a/prm""#,
        ])
        .unwrap();
        assert_eq!(c.resource_metadata.as_deref(), Some("http://a/prm"));
    }

    #[test]
    fn escapes_unquoted_values_and_no_params() {
        let c = bearer(&[r#"Bearer error_description="say \"hi\", ok", scope=a"#]).unwrap();
        assert_eq!(c.scope.as_deref(), Some("a"));
        assert_eq!(bearer(&["Bearer"]), Some(BearerChallenge::default()));
        assert_eq!(bearer(&["Basic realm=\"x\""]), None);
        assert_eq!(bearer(&[r#"Bearer scope="""#]).unwrap().scope, None);
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "=",
            "\"",
            "Bearer =",
            "Bearer a=\"unterminated",
            ",,,",
            "Bearer a b c=d",
            "x==",
        ] {
            let _ = parse_challenges(s);
        }
    }
}
