//! The TLS client setup the probes (Polyaxon API, artifacts store) share:
//! aws-lc-rs, the provider kube also uses (two providers make rustls refuse
//! to pick one), and the platform's roots (SSL_CERT_FILE and SSL_CERT_DIR
//! honoured), plus any CA the user names.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client that verifies servers against the platform's roots and `extra`.
pub fn verifying_client(
    extra: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots.add_parsable_certificates(extra);
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
