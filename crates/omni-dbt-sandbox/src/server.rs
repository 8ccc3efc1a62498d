//! The HTTP/1 accept loop: serves the router on each connection and can close one without answering.
//!
//! axum's `serve` always answers, so the sandbox runs hyper itself: a handler that wants the
//! client to see a dropped connection returns a response marked with [`DropConnection`]; the
//! per-connection service turns it into a service error, on which hyper closes the socket
//! without writing anything. The client gets a transport error ("connection closed before
//! message completed"), exactly like a crashed server or a cut network.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Response extension: close the connection instead of sending this response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

/// A response that closes the connection unanswered (a plain 500 under any other server).
pub(crate) fn drop_response() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

/// The service error that makes hyper close the connection.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose by fault injection")]
struct ConnectionDropped;

/// Accepts connections forever; dropping this future closes the listener and every connection.
pub(crate) async fn serve(listener: TcpListener, router: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, router: Router) {
    // Small JSON responses: do not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                Err(ConnectionDropped)
            } else {
                Ok(response)
            }
        }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    if let Err(error) = connection.await {
        tracing::debug!(%error, "connection closed with an error");
    }
}
