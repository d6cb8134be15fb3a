//! serve's HTTP endpoints, on hyper: `/metrics`, `/report`, `/healthz`,
//! `/readyz` and `/`. Every answer is prepared by the evaluation; a request
//! only reads it, so a scrape never waits for the engine.

use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::metrics::{CONTENT_TYPE, Metrics};

/// What the last evaluation prepared.
#[derive(Default)]
pub struct Current {
    /// The JSON report (redacted), once there is one.
    pub report: Option<String>,
    pub page: String,
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
    match request.uri().path() {
        "/metrics" => answer(StatusCode::OK, CONTENT_TYPE, state.metrics.render()),
        "/report" => match &current.report {
            Some(json) => answer(StatusCode::OK, "application/json", json.clone()),
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
        "/" => answer(
            StatusCode::OK,
            "text/html; charset=utf-8",
            current.page.clone(),
        ),
        _ => answer(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: /metrics, /report, /healthz, /readyz, /\n".into(),
        ),
    }
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
