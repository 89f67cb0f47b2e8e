//! Which certificate authorities upstream TLS connections trust: the Mozilla roots bundled with
//! the addon, the system's store (on Linux the distro bundle, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`), the PEM bundles named by `NODE_EXTRA_CA_CERTS` and `AWS_CA_BUNDLE`, and a
//! route's own `caFile`. Errors name the file and what is wrong with it, never its contents.

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use once_cell::sync::Lazy;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::error::{ErrorKind, ProxyError};

/// The environment variables that name extra PEM bundles for the whole process: Node's own, so
/// one setting covers Backstage and this addon, and the AWS CLI's and SDKs'.
pub const EXTRA_CA_VARIABLES: [&str; 2] = ["NODE_EXTRA_CA_CERTS", "AWS_CA_BUNDLE"];

/// The hint a refused upstream certificate is answered with.
pub const TRUST_HINT: &str = "set caFile on the route, or NODE_EXTRA_CA_CERTS / AWS_CA_BUNDLE";

/// A CA bundle is a few hundred KiB at most (a whole distro bundle); reading stops above this,
/// so a path to a device or a huge file fails instead of filling memory.
const MAX_BUNDLE_BYTES: u64 = 16 * 1024 * 1024;

/// Certificate authorities read from PEM bundles, sorted and deduplicated so that equal sets
/// compare equal: clients are shared between routes whose sets are equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CaCertificates(Vec<CertificateDer<'static>>);

impl CaCertificates {
    /// Reads every certificate of a PEM bundle; other PEM sections (keys, CRLs) are skipped.
    /// Each certificate is checked to be usable as a trust anchor, so adding it later cannot fail.
    /// The error says what is wrong, with the path; it never quotes the file.
    pub fn read_pem_file(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let bytes = read_limited(path).map_err(|problem| format!("cannot read '{shown}': {problem}"))?;
        let certificates = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| format!("'{shown}' is not a valid PEM file: {}", pem_problem(&error)))?;
        if certificates.is_empty() {
            return Err(format!("'{shown}' holds no PEM certificates (-----BEGIN CERTIFICATE-----)"));
        }
        for (index, certificate) in certificates.iter().enumerate() {
            if RootCertStore::empty().add(certificate.clone()).is_err() {
                return Err(format!(
                    "certificate {} in '{shown}' is not a valid X.509 certificate",
                    index + 1
                ));
            }
        }
        Ok(Self::from_certificates(certificates))
    }

    fn from_certificates(mut certificates: Vec<CertificateDer<'static>>) -> Self {
        certificates.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        certificates.dedup();
        Self(certificates)
    }

    /// Both sets together.
    pub fn union(&self, other: &Self) -> Self {
        Self::from_certificates(self.0.iter().chain(&other.0).cloned().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The certificates as one PEM bundle, for clients that take PEM (the AWS SDK's).
    pub fn to_pem(&self) -> String {
        let mut text = String::new();
        for certificate in &self.0 {
            let encoded = aws_smithy_types::base64::encode(certificate.as_ref());
            text.push_str("-----BEGIN CERTIFICATE-----\n");
            for line in encoded.as_bytes().chunks(64) {
                // base64 is ASCII, so any cut is on a character boundary.
                let _ = writeln!(text, "{}", std::str::from_utf8(line).expect("base64 is ASCII"));
            }
            text.push_str("-----END CERTIFICATE-----\n");
        }
        text
    }
}

/// At most MAX_BUNDLE_BYTES of the file; the error is the system's (no such file, permission).
fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err("is a directory, not a file".to_string());
    }
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(format!("larger than {} MiB", MAX_BUNDLE_BYTES / (1024 * 1024)));
    }
    Ok(bytes)
}

/// What is wrong with a PEM file, without the line the parser quotes (it may hold key material).
fn pem_problem(error: &pem::Error) -> &'static str {
    match error {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::SectionTooLarge => "a section is too large",
        _ => "it cannot be parsed",
    }
}

/// The certificates named by NODE_EXTRA_CA_CERTS and AWS_CA_BUNDLE, read once, on first use:
/// like Node, which reads NODE_EXTRA_CA_CERTS at startup, a change needs a restart. An empty
/// variable counts as unset. A file that cannot be used is an `INVALID_CONFIG` error that names
/// the variable and the path, given each time a proxy is built.
pub fn environment_cas() -> Result<&'static CaCertificates, ProxyError> {
    static FROM_ENVIRONMENT: Lazy<Result<CaCertificates, String>> = Lazy::new(read_environment_cas);
    FROM_ENVIRONMENT.as_ref().map_err(|problem| ProxyError::new(ErrorKind::InvalidConfig, problem.clone()))
}

fn read_environment_cas() -> Result<CaCertificates, String> {
    let mut all = CaCertificates::default();
    for variable in EXTRA_CA_VARIABLES {
        let Some(path) = std::env::var_os(variable).filter(|value| !value.is_empty()) else { continue };
        let more = CaCertificates::read_pem_file(Path::new(&path))
            .map_err(|problem| format!("environment variable {variable}: {problem}"))?;
        all = all.union(&more);
    }
    Ok(all)
}

/// The system's trusted certificates, loaded once (reading the store takes a while). A store
/// that cannot be read, or certificates in it that do not parse, leave the bundled roots.
static SYSTEM_ROOTS: Lazy<Vec<CertificateDer<'static>>> =
    Lazy::new(|| rustls_native_certs::load_native_certs().certs);

/// Everything a connection for a route with `route_cas` trusts: bundled, system, environment
/// and route certificates.
pub fn root_store(route_cas: &CaCertificates) -> Result<Arc<RootCertStore>, ProxyError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    roots.add_parsable_certificates(SYSTEM_ROOTS.iter().cloned());
    for certificate in environment_cas()?.0.iter().chain(&route_cas.0) {
        // Checked when read; a failure here would be a bug, not a bad file.
        roots.add(certificate.clone()).map_err(|error| {
            ProxyError::new(ErrorKind::Internal, "a checked CA certificate was refused").with_source(error)
        })?;
    }
    Ok(Arc::new(roots))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fresh directory under the system's temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!("proxy-sigv4-tls-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A self-signed CA certificate made by the openssl CLI (no key material is committed).
    fn openssl_ca(dir: &TempDir, name: &str) -> Vec<u8> {
        let cert = dir.0.join(format!("{name}.pem"));
        let key = dir.0.join(format!("{name}.key"));
        let status = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args([
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("the openssl CLI runs");
        assert!(status.success(), "openssl made a CA certificate");
        std::fs::read(cert).unwrap()
    }

    #[test]
    fn reads_sorts_and_deduplicates_a_bundle_and_writes_it_back_as_pem() {
        let dir = TempDir::new("bundle");
        let (a, b) = (openssl_ca(&dir, "a"), openssl_ca(&dir, "b"));
        let bundle = [a.as_slice(), b"\n# a comment\n", b.as_slice(), a.as_slice()].concat();
        let read = CaCertificates::read_pem_file(&dir.file("bundle.pem", &bundle)).unwrap();
        assert_eq!(read.len(), 2);
        let reversed =
            CaCertificates::read_pem_file(&dir.file("ba.pem", &[b.clone(), a.clone()].concat())).unwrap();
        assert_eq!(read, reversed, "the same set, whatever the order");
        let round_trip =
            CaCertificates::read_pem_file(&dir.file("again.pem", read.to_pem().as_bytes())).unwrap();
        assert_eq!(round_trip, read);
        assert_eq!(read.union(&round_trip), read);
        let store = root_store(&read).unwrap();
        assert_eq!(store.len(), root_store(&CaCertificates::default()).unwrap().len() + 2);
    }

    #[test]
    fn a_private_key_beside_the_certificates_is_skipped_and_never_quoted() {
        let dir = TempDir::new("key");
        let ca = openssl_ca(&dir, "ca");
        let key = std::fs::read(dir.0.join("ca.key")).unwrap();
        let read =
            CaCertificates::read_pem_file(&dir.file("with-key.pem", &[key.clone(), ca].concat())).unwrap();
        assert_eq!(read.len(), 1);
        let only_key = CaCertificates::read_pem_file(&dir.file("only-key.pem", &key)).unwrap_err();
        assert!(only_key.contains("holds no PEM certificates"), "{only_key}");
        let key_text = String::from_utf8(key).unwrap();
        let key_body = key_text.lines().nth(1).unwrap();
        assert!(!only_key.contains(key_body), "{only_key}");
    }

    #[test]
    fn unusable_files_are_named_with_what_is_wrong() {
        let dir = TempDir::new("bad");
        let missing = dir.0.join("missing.pem");
        let error = CaCertificates::read_pem_file(&missing).unwrap_err();
        assert!(error.starts_with(&format!("cannot read '{}': ", missing.display())), "{error}");
        let error = CaCertificates::read_pem_file(&dir.0).unwrap_err();
        assert!(error.contains("is a directory"), "{error}");
        let empty = dir.file("empty.pem", b"");
        assert!(CaCertificates::read_pem_file(&empty).unwrap_err().contains("holds no PEM certificates"));
        let secret_line = "-----BEGIN CERTIFICATE s3cr3t-----";
        let malformed = dir.file("malformed.pem", format!("{secret_line}\nAAAA\n").as_bytes());
        let error = CaCertificates::read_pem_file(&malformed).unwrap_err();
        assert!(error.contains("is not a valid PEM file"), "{error}");
        assert!(!error.contains("s3cr3t"), "{error}");
        let not_base64 =
            dir.file("b64.pem", b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        assert!(CaCertificates::read_pem_file(&not_base64).unwrap_err().contains("not valid base64"));
        let not_x509 = dir
            .file("junk.pem", b"-----BEGIN CERTIFICATE-----\nc2VjcmV0IGJ5dGVz\n-----END CERTIFICATE-----\n");
        let error = CaCertificates::read_pem_file(&not_x509).unwrap_err();
        assert!(
            error.starts_with("certificate 1 in '") && error.ends_with("is not a valid X.509 certificate"),
            "{error}"
        );
    }
}
