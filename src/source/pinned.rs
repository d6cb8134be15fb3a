//! Trust a kubeconfig's CA the way kubectl (Go's crypto/x509) does. Go
//! accepts a serving certificate that is itself one of the configured roots:
//! a pinned leaf, or a self-signed serving certificate with `CA:TRUE` (what
//! `openssl req -x509` makes). webpki refuses both (UnknownIssuer,
//! CaUsedAsEndEntity; kube-rs issue #1767), so a kubectl plugin built on it
//! would fail where kubectl works. This verifier asks webpki first and, only
//! when it refuses, accepts a certificate that is byte for byte one of the
//! configured ones and still names the server. Everything else stays
//! refused with webpki's own error.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

#[derive(Debug)]
pub struct PinnedOrWebPki {
    webpki: Arc<WebPkiServerVerifier>,
    /// The kubeconfig's CA certificates, DER.
    pinned: Vec<Vec<u8>>,
}

impl PinnedOrWebPki {
    /// A verifier over these CA certificates (DER). Fails when none parses.
    pub fn new(roots_der: &[Vec<u8>]) -> Result<PinnedOrWebPki, Error> {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(
            roots_der
                .iter()
                .map(|der| CertificateDer::from(der.clone())),
        );
        if added == 0 {
            return Err(Error::General(
                "the kubeconfig's certificate-authority holds no certificate".into(),
            ));
        }
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), super::tls::provider())
                .build()
                .map_err(|error| Error::General(error.to_string()))?;
        Ok(PinnedOrWebPki {
            webpki,
            pinned: roots_der.to_vec(),
        })
    }
}

/// Whether webpki refused only for want of an issuer: the cases where Go
/// looks the leaf up in its root pool.
fn only_the_issuer(error: &Error) -> bool {
    match error {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => true,
        Error::InvalidCertificate(CertificateError::Other(other)) => {
            format!("{other:?}").contains("CaUsedAsEndEntity")
        }
        _ => false,
    }
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let refused = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(refused) => refused,
        };
        let pinned = self
            .pinned
            .iter()
            .any(|der| der.as_slice() == end_entity.as_ref());
        if !(only_the_issuer(&refused) && pinned) {
            return Err(refused);
        }
        // kubectl checks the name in this case too.
        let certificate = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        certificate
            .verify_is_valid_for_subject_name(server_name)
            .map_err(|_| Error::InvalidCertificate(CertificateError::NotValidForName))?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
