//! serve's HTTP endpoints, on hyper: `/metrics`, `/report`, `/healthz`,
//! `/readyz` and `/`. Every answer is prepared by the evaluation; a request
//! only reads it, so a scrape never waits for the engine.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::{Arc, RwLock};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::metrics::{CONTENT_TYPE, Metrics};

/// A prepared answer, kept gzip-compressed: a large cluster's report and
/// page are megabytes of text that compress some thirty times
/// (bench/serve.sh), and they are asked for far less often than they
/// change. Sent as they are to a client that accepts gzip.
#[derive(Clone, Default)]
pub struct Packed(Bytes);

impl Packed {
    pub fn new(text: &str) -> Packed {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        // Writing to a Vec cannot fail.
        let _ = encoder.write_all(text.as_bytes());
        Packed(Bytes::from(encoder.finish().unwrap_or_default()))
    }

    fn unpacked(&self) -> String {
        let mut text = String::new();
        let _ = GzDecoder::new(&self.0[..]).read_to_string(&mut text);
        text
    }
}

/// What the last evaluation prepared.
#[derive(Default)]
pub struct Current {
    /// The JSON report (redacted), once there is one.
    pub report: Option<Packed>,
    pub page: Packed,
    pub ready: bool,
    /// Why not ready yet, for /readyz.
    pub waiting: String,
}

pub struct State {
    pub current: RwLock<Current>,
    pub metrics: Arc<Metrics>,
}

/// Serves until the process ends; a connection that fails is dropped
/// alone.
pub async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, most likely: let some close.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(respond(&state, &request)) }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond<B>(state: &State, request: &Request<B>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "only GET and HEAD\n".into(),
        );
    }
    let current = state
        .current
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let gzip = accepts_gzip(request);
    match request.uri().path() {
        "/metrics" => answer(StatusCode::OK, CONTENT_TYPE, state.metrics.render()),
        "/report" => match &current.report {
            Some(json) => packed(json, "application/json", gzip),
            None => answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                format!("no report yet: {}\n", current.waiting),
            ),
        },
        "/healthz" => answer(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into()),
        "/readyz" if current.ready => answer(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ready\n".into(),
        ),
        "/readyz" => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            format!("not ready: {}\n", current.waiting),
        ),
        "/" => packed(&current.page, "text/html; charset=utf-8", gzip),
        _ => answer(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: /metrics, /report, /healthz, /readyz, /\n".into(),
        ),
    }
}

/// Whether the request's Accept-Encoding takes gzip (and not at q=0).
fn accepts_gzip<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get_all(hyper::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let weight = parts
                .find_map(|p| p.strip_prefix("q="))
                .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && weight > 0.0
        })
}

fn packed(body: &Packed, content_type: &str, gzip: bool) -> Response<Full<Bytes>> {
    if !gzip {
        return answer(StatusCode::OK, content_type, body.unpacked());
    }
    let mut response = answer(StatusCode::OK, content_type, String::new());
    *response.body_mut() = Full::new(body.0.clone());
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_ENCODING,
        hyper::header::HeaderValue::from_static("gzip"),
    );
    headers.insert(
        hyper::header::VARY,
        hyper::header::HeaderValue::from_static("accept-encoding"),
    );
    response
}

fn answer(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asking(encoding: &str) -> Request<()> {
        Request::builder()
            .header(hyper::header::ACCEPT_ENCODING, encoding)
            .body(())
            .unwrap()
    }

    #[test]
    fn gzip_is_sent_to_whom_accepts_it() {
        for (encoding, accepted) in [
            ("gzip, deflate, br", true),
            ("br;q=1.0, gzip;q=0.8, *;q=0.1", true),
            ("GZIP", true),
            ("*", true),
            ("gzip;q=0", false),
            ("gzip; q=0.000", false),
            ("identity", false),
            ("deflate, br", false),
        ] {
            assert_eq!(accepts_gzip(&asking(encoding)), accepted, "{encoding}");
        }
        let none = Request::builder().body(()).unwrap();
        assert!(!accepts_gzip(&none));
    }

    #[test]
    fn a_packed_answer_unpacks_to_its_text() {
        let text = "<p>a run</p>".repeat(1000);
        let packed = Packed::new(&text);
        assert!(packed.0.len() < text.len() / 10);
        assert_eq!(packed.unpacked(), text);
    }
}
