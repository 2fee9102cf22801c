//! Helpers shared by the fake-idp integration tests, which play the client side against the world.
#![allow(dead_code)] // each test crate uses its own subset

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::Client;
use sha2::{Digest as _, Sha256};

/// A client that follows no redirects, ignores proxies and gives up after 10 s.
pub fn http() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The PKCE S256 challenge, computed here rather than by the crate under test.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}
