//! The run's TLS material under `--tls-profile strict` ([`crate::spec::TlsProfile`]): the throwaway test PKI
//! (fake_idp::tls) and the file its CA is written to, which the target under test is told about through the
//! contract's environment variables ([`CA_ENV`]) or, for a `--url` target, `--ca-out FILE`; and the certificate
//! a target serves https with: a leaf of the same CA for `127.0.0.1` and `localhost`, its PEM files named to a
//! `--command` target by [`CERT_ENV`] and [`KEY_ENV`], or written by `--cert-out FILE --key-out FILE`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fake_idp::tls::{ServerCert, TestPki, TlsError};

use crate::spec::TlsProfile;

/// The environment variables that carry the test CA's PEM file to a `--command` target or a spawned client:
/// OpenSSL and everything built on it (Python's `ssl`, curl, Go's crypto/x509 on Linux, rustls-native-certs),
/// Python `requests`, and Node.js (added to its built-in roots).
pub const CA_ENV: [&str; 3] = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"];

/// The variable naming the PEM file of the certificate a `--command` target serves https with (the leaf only).
pub const CERT_ENV: &str = "MCP_CONFORMANCE_TLS_CERT_FILE";
/// The variable naming the PEM file of that certificate's private key (PKCS#8, mode 0600).
pub const KEY_ENV: &str = "MCP_CONFORMANCE_TLS_KEY_FILE";

/// The TLS material of one run: the PKI, its CA certificate, and the target's leaf and key, written to files in a
/// directory of the run's own (mode 0700; removed on drop).
#[derive(Debug)]
pub struct RunTls {
    pub pki: Arc<TestPki>,
    dir: PathBuf,
    ca_file: PathBuf,
    target: ServerCert,
    cert_file: PathBuf,
    key_file: PathBuf,
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
        let target = pki.leaf(&[]).map_err(|e| e.to_string())?;
        let dir = std::env::temp_dir().join(format!(
            "mcp-auth-conformance-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        private_dir(&dir)
            .map_err(|e| format!("cannot create the TLS directory {}: {e}", dir.display()))?;
        let tls = RunTls {
            pki: Arc::new(pki),
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
            dir,
            target,
        };
        tls.write_ca(&tls.ca_file)?;
        tls.write_target(&tls.cert_file, &tls.key_file)?;
        Ok(tls)
    }

    /// The file holding the test CA certificate (PEM).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// `(variable, CA file)` for every variable of [`CA_ENV`]: what a spawned client is told.
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        CA_ENV.iter().map(|v| (*v, self.ca_file.clone())).collect()
    }

    /// [`RunTls::env`] plus the certificate and key files ([`CERT_ENV`], [`KEY_ENV`]): what a `--command` target
    /// that serves https is told.
    pub fn target_env(&self) -> Vec<(&'static str, PathBuf)> {
        let mut env = self.env();
        env.push((CERT_ENV, self.cert_file.clone()));
        env.push((KEY_ENV, self.key_file.clone()));
        env
    }

    /// The certificate (and key) a target serves https with: a leaf of the test CA for `127.0.0.1`, `localhost`
    /// and the test names.
    pub fn target_cert(&self) -> &ServerCert {
        &self.target
    }

    /// Writes the CA certificate to `path` (`--ca-out`).
    pub fn write_ca(&self, path: &Path) -> Result<(), String> {
        std::fs::write(path, self.pki.ca_pem())
            .map_err(|e| format!("--ca-out {}: {e}", path.display()))
    }

    /// Writes the target's certificate to `cert` and its key to `key` (created with mode 0600; an existing file
    /// is narrowed to 0600 before the key is written): `--cert-out`, `--key-out`.
    pub fn write_target(&self, cert: &Path, key: &Path) -> Result<(), String> {
        std::fs::write(cert, self.target.cert_pem())
            .map_err(|e| format!("--cert-out {}: {e}", cert.display()))?;
        write_private(key, self.target.key_pem())
            .map_err(|e| format!("--key-out {}: {e}", key.display()))
    }
}

/// Creates `dir` readable by its owner only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `text` to `path`, which only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(text.as_bytes())
}

impl Drop for RunTls {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
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

    fn var<'a>(env: &'a [(&str, PathBuf)], name: &str) -> Option<&'a PathBuf> {
        env.iter().find(|(k, _)| *k == name).map(|(_, p)| p)
    }

    #[test]
    fn a_started_target_is_named_its_certificate_and_key_files_and_they_go_with_the_run() {
        let tls = RunTls::generate().unwrap();
        let env = tls.target_env();
        let (cert, key) = (var(&env, CERT_ENV).unwrap(), var(&env, KEY_ENV).unwrap());
        assert_eq!(
            std::fs::read_to_string(cert).unwrap(),
            tls.target_cert().cert_pem()
        );
        assert_eq!(
            std::fs::read_to_string(key).unwrap(),
            tls.target_cert().key_pem()
        );
        let dir = cert.parent().unwrap().to_owned();
        drop(tls);
        assert!(!dir.exists());
    }

    #[test]
    fn a_spawned_client_is_not_told_the_target_key() {
        let tls = RunTls::generate().unwrap();
        assert!(var(&tls.env(), KEY_ENV).is_none());
        assert!(var(&tls.env(), CERT_ENV).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn the_key_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tls = RunTls::generate().unwrap();
        let out = tls.dir.join("out-key.pem");
        std::fs::write(&out, "old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        tls.write_target(&tls.dir.join("out-cert.pem"), &out)
            .unwrap();
        for key in [&tls.key_file, &out] {
            let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
        let mode = std::fs::metadata(&tls.dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
