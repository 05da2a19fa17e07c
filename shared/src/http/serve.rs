//! Binding and serving with graceful shutdown (SIGTERM or ctrl-c): in-flight requests finish,
//! new connections are refused, then the process exits. Every service serves through here, so
//! every one enforces the same limits on its clients (`http.*`): a request head must arrive
//! within `header_timeout_secs` (hyper closes the connection otherwise: a client trickling its
//! head cannot hold a connection, nor can one that connects and sends nothing), and a response head must be ready within
//! `request_timeout_secs` (503 problem+json with `Retry-After` otherwise; a streamed body,
//! the SSE feed or a CSV export, then goes on); at most `max_connections` are served at once.

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::config::HttpSettings;
use crate::http::ApiError;

/// Binds `listen`; port 0 picks a free port (tests read it back from the listener).
pub async fn bind(listen: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))
}

/// Serves `router` until `stop` is cancelled; in-flight requests then finish. Every service
/// stops this way, its background tasks watching the same token.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
    limits: &HttpSettings,
) -> std::io::Result<()> {
    let deadline = Duration::from_secs(limits.request_timeout_secs);
    let router = router.layer(axum::middleware::from_fn(move |request, next| {
        answer_within(deadline, request, next)
    }));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_timeout_secs));
    let graceful = GracefulShutdown::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    // hyper's header timeout runs from a request's first byte: a client that connects and
    // sends nothing would hold its connection forever. Each new connection must send its
    // first byte within the same timeout, checked on a task of its own so the accept loop never
    // waits on a client; the connections that pass come back here to be served.
    let header_timeout = Duration::from_secs(limits.header_timeout_secs);
    let (ready, mut readied) = tokio::sync::mpsc::channel::<(TcpStream, OwnedSemaphorePermit)>(64);
    loop {
        // At the cap, stop accepting: new connections wait in the kernel's backlog.
        let accept = async {
            let slot = slots.clone().acquire_owned().await;
            (slot, listener.accept().await)
        };
        let (stream, slot) = tokio::select! {
            () = stop.cancelled() => break,
            Some(ready) = readied.recv() => ready,
            (slot, accepted) = accept => {
                let Ok(slot) = slot else { break };
                match accepted {
                    Ok((stream, _)) => {
                        let ready = ready.clone();
                        tokio::spawn(async move {
                            let mut first = [0u8; 1];
                            match tokio::time::timeout(header_timeout, stream.peek(&mut first)).await {
                                Ok(Ok(n)) if n > 0 => {
                                    let _ = ready.send((stream, slot)).await;
                                }
                                _ => {
                                    metrics::counter!("http_requests_refused_total", "reason" => "idle")
                                        .increment(1);
                                }
                            }
                        });
                    }
                    Err(error) => {
                        // Out of file descriptors, say: wait a little instead of spinning.
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A 503 when the response head is not ready within `deadline`.
async fn answer_within(deadline: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("http_requests_refused_total", "reason" => "deadline").increment(1);
            let mut response = ApiError::Unavailable("the request took too long").into_response();
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
            response
        }
    }
}

/// Completes on SIGTERM (Kubernetes, compose) or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, draining");
}

/// A token cancelled by the first shutdown signal, for `main`s that stop several tasks.
pub fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let child = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        child.cancel();
    });
    token
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn served(limits: HttpSettings) -> (std::net::SocketAddr, CancellationToken) {
        let router = Router::new().route("/fast", get(|| async { "ok" })).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        let listener = bind(([127, 0, 0, 1], 0).into()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let token = stop.clone();
        tokio::spawn(async move { serve(listener, router, token, &limits).await });
        (addr, stop)
    }

    async fn exchange(addr: std::net::SocketAddr, head: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn a_client_trickling_its_request_head_is_disconnected() {
        let (addr, stop) = served(HttpSettings {
            header_timeout_secs: 1,
            request_timeout_secs: 30,
            max_connections: 100,
        })
        .await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(4), stream.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "still open after 4 s");
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        // A complete head is answered as usual.
        let answer = exchange(
            addr,
            "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        stop.cancel();
    }

    #[tokio::test]
    async fn a_client_that_connects_and_sends_nothing_is_disconnected() {
        let (addr, stop) = served(HttpSettings {
            header_timeout_secs: 1,
            request_timeout_secs: 30,
            max_connections: 100,
        })
        .await;
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(4), idle.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "an idle connection still open after 4 s");
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
        let answer = exchange(
            addr,
            "GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        stop.cancel();
    }

    #[tokio::test]
    async fn a_request_not_answered_in_time_gets_a_503_to_retry() {
        let (addr, stop) = served(HttpSettings {
            header_timeout_secs: 10,
            request_timeout_secs: 1,
            max_connections: 100,
        })
        .await;
        let answer = exchange(
            addr,
            "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.to_lowercase().contains("retry-after: 1"), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        stop.cancel();
    }

    #[tokio::test]
    async fn past_the_connection_cap_a_new_client_waits_until_one_leaves() {
        let (addr, stop) = served(HttpSettings {
            header_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 2,
        })
        .await;
        let first = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _second = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"GET /fast HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let waited =
            tokio::time::timeout(Duration::from_millis(500), third.read_to_end(&mut answer)).await;
        assert!(waited.is_err(), "served past the cap");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut answer))
            .await
            .expect("served once a place is free")
            .unwrap();
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
        stop.cancel();
    }
}
