//! # fake-idp: the fake world of mcp-auth-conformance
//!
//! A conformance suite has to play every party except the one under test. This crate is those
//! parties, for MCP Authorization (2025-11-25):
//!
//! - a fake **IdP** with the seed story's users (`alice`: `full_access`, `bob`: `read_only`,
//!   from `fixtures/users.toml`);
//! - an **OAuth 2.1 authorization server** ([`server::router`]): RFC 8414 / OpenID metadata,
//!   JWKS, `/authorize` with PKCE S256 and RFC 8707 `resource`, auto-approved with an
//!   immediate 302, `/token` (authorization code, refresh rotation with replay detection,
//!   client credentials, RFC 8693 token exchange), RFC 7662 introspection, RFC 7009 revocation, RFC 7591 registration,
//!   userinfo;
//! - the same server in **target mode** ([`AsTarget`]): the suite's exemplary reference AS,
//!   with an HTML login and consent UI ([`LoginUi::Form`]) and one [`AsDefect`] per
//!   protection;
//! - a **CIMD host**: documents published with [`FakeIdp::cimd_put`] are what an https
//!   `client_id` on `*.conformance.test` resolves to, so CIMD is really fetched and validated
//!   without TLS on loopback;
//! - honest **token minting** ([`Minter`]) and, fenced in [`danger`], the **adversarial forge**
//!   (expired, wrong audience, `alg: none`, HS256 key confusion, injected keys, …);
//! - the **client-role world** ([`ClientWorld`]): a protected MCP server with its PRM, scriptable
//!   authorization servers and CIMD documents, every request logged before it is answered;
//! - the **upstream API** ([`UpstreamApi`]) an MCP server calls on the user's behalf: strict
//!   JWT validation, every request recorded before it is answered;
//! - an **attacker host** that records every fetch, so "the server fetched nothing" is provable.
//!
//! Why a crate of its own: the fake world must know nothing about checks. It records what it
//! saw ([`Events`]); the suite judges. It binds loopback only, takes time from an injected
//! [`Clock`] and randomness from a seed, and every outbound request (CIMD) has a 5 s timeout,
//! a 64 KiB body cap and no redirects. Tokens never appear whole in logs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fake_idp::FakeIdpError> {
//! use fake_idp::{FakeIdp, TokenSpec};
//! let world = FakeIdp::builder().seed(7).start().await?;
//! let users = fake_idp::Users::fixture();
//! let alice = users.get("alice").expect("fixture user");
//! let token = world.minter().mint(&TokenSpec::for_user(alice, "http://127.0.0.1:3000/mcp", "client"));
//! # let _ = token; world.shutdown().await; Ok(()) }
//! ```

pub mod assertion;
mod attacker;
pub mod cli;
pub mod client_world;
pub mod clock;
pub mod danger;
pub mod dpop;
mod events;
pub mod idp;
mod jws;
pub mod keys;
pub mod persona;
pub mod server;
pub mod tls;
pub mod token;
pub mod upstream;
pub mod users;
mod world;

#[cfg(test)]
mod fuzz;

pub use client_world::{
    sent_after_reading, AsConfig, BadCertificate, ClientWorld, IssMode, LoggedRequest, McpConfig,
    MetadataLocation, Origin, PreRegistered, PrmConfig, PrmLocation, RequestKind, StateMode,
    TlsRefusal, Wire, WorldConfig, WorldError,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use events::Events;
pub use keys::SigningKey;
pub use persona::{Persona, ScalekitIssuer};
pub use server::federation::UpstreamIdp;
pub use server::target::{
    AsDefect, AsTarget, AsTargetConfig, AssertionTrust, LoginUi, RunningAsTarget,
};
pub use server::RegisteredClient;
pub use token::{Audience, Minter, TokenSpec};
pub use upstream::{UpstreamApi, UpstreamRequest};
pub use users::{User, Users};
pub use world::{FakeIdp, FakeIdpBuilder, FakeIdpError, DEFAULT_SEED};

/// How much of a target-controlled body or header value a log keeps (the rest is cut, with a marker).
pub const RECORD_CAP: usize = 64 * 1024;

/// `text` cut to at most `cap` bytes on a character boundary, with `…[N bytes cut]` when anything was cut: the
/// one way every log and report bounds what a target sent.
pub fn cut_text(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_owned();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} bytes cut]", &text[..end], text.len() - end)
}

/// Every header line as (lowercase name, value), values decoded lossily: the one shape in which the world and
/// the suite record the headers they saw.
pub fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod cut_tests {
    use super::*;

    #[test]
    fn cut_text_keeps_short_text_and_marks_what_it_cut() {
        assert_eq!(cut_text("abc", 3), "abc");
        assert_eq!(cut_text("abcdef", 2), "ab…[4 bytes cut]");
        // Never inside a UTF-8 sequence: "é" is two bytes.
        assert_eq!(cut_text("aé", 2), "a…[2 bytes cut]");
    }
}
