//! A loopback Polyaxon API for the probe's tests: answers GET /api/v1/users
//! and GET /api/v1/{owner}/{project} the way Polyaxon's Django REST
//! Framework views do, with their bodies: {"detail": "Authentication
//! credentials were not provided."} (rest_framework NotAuthenticated),
//! {"detail": "Invalid token."} (TokenAuthentication), {"detail": "Token
//! expired"}, {"detail": "You do not have permission to perform this
//! action."} (PermissionDenied). It can stand behind an "ingress" that drops
//! the Authorization header, speak TLS with a private CA, or accept and
//! never answer. It records what each request carried. 127.0.0.1 only.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// How the API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Valid token: 200 with the user.
    Fine,
    /// The token is unknown: 401 Invalid token.
    InvalidToken,
    /// The token expired: 403 Token expired.
    Expired,
    /// An ingress in front drops Authorization before Polyaxon sees it.
    StripsAuthorization,
    /// The user may not read this: 403 PermissionDenied.
    NoPermission,
    /// The session is fine; the project answers 403.
    ProjectForbidden,
    /// The session is fine; there is no such project (404).
    ProjectMissing,
    /// Accepts connections and never answers.
    Silent,
}

/// One request as it arrived, before any "ingress" touched it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
}

pub struct PolyaxonApi {
    pub addr: SocketAddr,
    pub tls: bool,
    /// The private CA's PEM, with TLS.
    pub ca_pem: Option<String>,
    seen: Arc<Mutex<Vec<Seen>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl PolyaxonApi {
    /// `token` is the one token the API knows.
    pub fn start(mode: Mode, token: &str, tls: bool) -> PolyaxonApi {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("address");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (acceptor, ca_pem) = if tls {
            let (acceptor, pem) = tls_acceptor();
            (Some(acceptor), Some(pem))
        } else {
            (None, None)
        };
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).expect("tokio listener")
        };
        let state = Arc::new((mode, token.to_string(), Arc::clone(&seen)));
        runtime.spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if state.0 == Mode::Silent {
                    // Keep the connection open and say nothing.
                    held.push(stream);
                    continue;
                }
                let state = Arc::clone(&state);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, std::convert::Infallible>(answer(&state, request)) }
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        PolyaxonApi {
            addr,
            tls,
            ca_pem,
            seen,
            runtime: Some(runtime),
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.addr.port())
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for PolyaxonApi {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

type State = (Mode, String, Arc<Mutex<Vec<Seen>>>);

fn answer(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (mode, token, seen) = state;
    let path = request.uri().path().to_string();
    let mut authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        authorization: authorization.clone(),
    });
    let mut server = "gunicorn";
    if *mode == Mode::StripsAuthorization {
        // What an ingress with a header-rewriting annotation does.
        authorization = None;
        server = "nginx";
    }
    let reply = |status: u16, body: &str| {
        Response::builder()
            .status(status)
            .header("Content-Type", "application/json")
            .header("Server", server)
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    let Some(authorization) = authorization else {
        return reply(
            403,
            r#"{"detail":"Authentication credentials were not provided."}"#,
        );
    };
    if authorization != format!("Token {token}") {
        return reply(401, r#"{"detail":"Invalid token."}"#);
    }
    let denied = r#"{"detail":"You do not have permission to perform this action."}"#;
    match (mode, path.as_str()) {
        (Mode::InvalidToken, _) => reply(401, r#"{"detail":"Invalid token."}"#),
        (Mode::Expired, _) => reply(403, r#"{"detail":"Token expired"}"#),
        (Mode::NoPermission, _) => reply(403, denied),
        (Mode::ProjectForbidden | Mode::ProjectMissing, "/api/v1/users") | (Mode::Fine, _) => {
            reply(
                200,
                r#"{"username":"ana","email":"ana@acme.io","role":"user","theme":0}"#,
            )
        }
        (Mode::ProjectForbidden, _) => reply(403, denied),
        // Django's Http404 for a missing object, through DRF.
        (Mode::ProjectMissing, _) => {
            reply(404, r#"{"detail":"No Project matches the given query."}"#)
        }
        _ => reply(404, r#"{"detail":"Not found."}"#),
    }
}

fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "polyaxon-test-ca");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    )
}
