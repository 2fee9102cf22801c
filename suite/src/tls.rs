//! The run's TLS material under `--tls-profile strict` ([`crate::spec::TlsProfile`]): the throwaway test PKI
//! (fake_idp::tls) and the file its CA is written to, which the target under test is told about through the
//! contract's environment variables ([`CA_ENV`]) or, for a `--url` target, `--ca-out FILE`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fake_idp::tls::{TestPki, TlsError};

use crate::spec::TlsProfile;

/// The environment variables that carry the test CA's PEM file to a `--command` target or a spawned client:
/// OpenSSL and everything built on it (Python's `ssl`, curl, Go's crypto/x509 on Linux, rustls-native-certs),
/// Python `requests`, and Node.js (added to its built-in roots).
pub const CA_ENV: [&str; 3] = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"];

/// The TLS material of one run: the PKI, and its CA certificate written to a file (removed on drop).
#[derive(Debug)]
pub struct RunTls {
    pub pki: Arc<TestPki>,
    ca_file: PathBuf,
}

impl RunTls {
    /// Under strict: a fresh PKI and its CA file in the temporary directory; under local: None.
    pub fn for_profile(profile: TlsProfile) -> Result<Option<RunTls>, String> {
        match profile {
            TlsProfile::Local => Ok(None),
            TlsProfile::Strict => RunTls::generate().map(Some),
        }
    }

    pub fn generate() -> Result<RunTls, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let pki = TestPki::generate().map_err(|e: TlsError| e.to_string())?;
        let ca_file = std::env::temp_dir().join(format!(
            "mcp-auth-conformance-ca-{}-{}.pem",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&ca_file, pki.ca_pem())
            .map_err(|e| format!("cannot write the test CA to {}: {e}", ca_file.display()))?;
        Ok(RunTls {
            pki: Arc::new(pki),
            ca_file,
        })
    }

    /// The file holding the test CA certificate (PEM).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// `(variable, CA file)` for every variable of [`CA_ENV`].
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        CA_ENV.iter().map(|v| (*v, self.ca_file.clone())).collect()
    }

    /// Writes the CA certificate to `path` (`--ca-out`).
    pub fn write_ca(&self, path: &Path) -> Result<(), String> {
        std::fs::write(path, self.pki.ca_pem())
            .map_err(|e| format!("--ca-out {}: {e}", path.display()))
    }
}

impl Drop for RunTls {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_profile_makes_no_pki() {
        assert!(RunTls::for_profile(TlsProfile::Local).unwrap().is_none());
    }

    #[test]
    fn the_ca_file_holds_the_test_ca_and_is_removed_with_the_run() {
        let tls = RunTls::for_profile(TlsProfile::Strict).unwrap().unwrap();
        let path = tls.ca_file().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, tls.pki.ca_pem());
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(tls.env().iter().all(|(_, p)| *p == path));
        drop(tls);
        assert!(!path.exists());
    }
}
