//! The HTTP server: hyper's HTTP/1.1 connection handling around poem's
//! endpoint, with the connection hygiene poem's own `Server` lacks (it sets
//! no header-read timeout, so a half-sent request head or an idle
//! keep-alive connection is held forever, and it takes every connection):
//!
//! - a header-read timeout (hyper's own), which also ends idle keep-alive
//!   connections, since it runs while hyper waits for the next request;
//! - a cap on open connections, beyond which a connection gets a fixed 503
//!   problem and is closed;
//! - hyper's own error answers (400, 414, 431) given a problem body like
//!   every other error, and a 505 problem for a client that speaks HTTP/2
//!   without asking, which hyper would close without a word
//!   (`edge/hyper_errors.rs`);
//! - graceful shutdown: stop accepting, let requests in flight finish for
//!   a while, then drop what is left.

use crate::edge::hyper_errors;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::metrics::{HttpMetrics, ShedLabels};

/// How the server treats connections.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Connections open at once; beyond it, a fixed 503 and close.
    pub max_connections: usize,
    /// How long a client may take to send a request head, and how long a
    /// keep-alive connection may sit idle between requests.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
}

type Body = http_body_util::combinators::BoxBody<bytes::Bytes, std::io::Error>;

/// Serves `endpoint` on `listener` until `stop` completes, then shuts down
/// gracefully.
pub async fn serve(
    listener: TcpListener,
    endpoint: impl Endpoint + 'static,
    settings: ServerSettings,
    metrics: HttpMetrics,
    stop: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let endpoint: Arc<BoxEndpoint<'static, Response>> =
        Arc::new(endpoint.map_to_response().boxed());
    let local = listener.local_addr()?;
    let open = Arc::new(AtomicUsize::new(0));
    // Refusals wait for the request head, so each holds a descriptor for a
    // moment; beyond this many at once, a connection over the cap is simply
    // closed, so a flood cannot spend the descriptors the cap protects.
    let refusals = Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_REFUSALS));
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors or a connection reset before accept:
                // keep serving the connections there are.
                Err(err) => {
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let _ = stream.set_nodelay(true);
        if open.load(Ordering::Relaxed) >= settings.max_connections {
            metrics
                .shed
                .get_or_create(&ShedLabels {
                    limit: "connections",
                })
                .inc();
            if let Ok(permit) = refusals.clone().try_acquire_owned() {
                let (open, metrics) = (open.clone(), metrics.clone());
                let endpoint = endpoint.clone();
                let closed = closed.clone();
                let header_read_timeout = settings.header_read_timeout;
                tokio::spawn(async move {
                    // A load balancer's health check is answered even here,
                    // or a merely busy replica looks dead; its connection
                    // takes that one request only.
                    if is_health_check(&stream).await {
                        drop(permit);
                        let guard = OpenConnection::new(open, metrics);
                        let one = Connection {
                            local,
                            remote,
                            endpoint,
                            header_read_timeout,
                            keep_alive: false,
                        };
                        serve_connection(stream, one, closed, guard).await;
                    } else {
                        refuse(stream).await;
                        drop(permit);
                    }
                });
            }
            continue;
        }
        let guard = OpenConnection::new(open.clone(), metrics.clone());
        let connection = Connection {
            local,
            remote,
            endpoint: endpoint.clone(),
            header_read_timeout: settings.header_read_timeout,
            keep_alive: true,
        };
        connections.spawn(serve_connection(stream, connection, closed.clone(), guard));
    }
    drop(listener);
    let _ = closing.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(settings.shutdown_timeout, drained)
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at the shutdown timeout are cut off");
        connections.shutdown().await;
    }
    Ok(())
}

/// What serving one connection needs.
struct Connection {
    local: SocketAddr,
    remote: SocketAddr,
    endpoint: Arc<BoxEndpoint<'static, Response>>,
    header_read_timeout: Duration,
    /// Whether it may carry more than one request.
    keep_alive: bool,
}

async fn serve_connection(
    stream: TcpStream,
    connection: Connection,
    mut closing: watch::Receiver<bool>,
    _open: OpenConnection,
) {
    let Connection {
        local,
        remote,
        endpoint,
        header_read_timeout,
        keep_alive,
    } = connection;
    let mut stream = stream;
    tokio::select! {
        done = hyper_errors::refuse_http2(&mut stream, header_read_timeout) => if done {
            return;
        },
        // Not a request begun: nothing to finish.
        _ = closing.wait_for(|closing| *closing) => return,
    }
    let service = hyper::service::service_fn(move |request: poem::http::Request<Incoming>| {
        let endpoint = endpoint.clone();
        async move {
            let request = poem::Request::from((
                request,
                LocalAddr(Addr::SocketAddr(local)),
                RemoteAddr(Addr::SocketAddr(remote)),
                Scheme::HTTP,
            ));
            let response: hyper::Response<Body> = endpoint.get_response(request).await.into();
            Ok::<_, Infallible>(response)
        }
    });
    let io = TokioIo::new(hyper_errors::ProblemBodies::new(stream));
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(keep_alive)
        .serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        result = &mut connection => {
            if let Err(err) = result {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            return;
        }
        _ = closing.wait_for(|closing| *closing) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Whether the request waiting on `stream` is a health check, judged from
/// its request line without reading it (so it can still be served).
async fn is_health_check(stream: &TcpStream) -> bool {
    const HEALTH: [&[u8]; 4] = [
        b"GET /v1/health ",
        b"GET /v1/health?",
        b"HEAD /v1/health ",
        b"HEAD /v1/health?",
    ];
    let deadline = tokio::time::Instant::now() + REFUSE_HEAD_WAIT;
    let mut buffer = [0u8; 24];
    loop {
        let peeked = tokio::time::timeout_at(deadline, stream.peek(&mut buffer)).await;
        let Ok(Ok(n)) = peeked else { return false };
        let sent = &buffer[..n];
        if n == 0
            || !HEALTH
                .iter()
                .any(|line| line.starts_with(sent) || sent.starts_with(line))
        {
            return false;
        }
        if HEALTH.iter().any(|line| sent.starts_with(line)) {
            return true;
        }
        // A prefix of a health check so far: peek answers at once while
        // those bytes wait, so look again a little later.
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Over the connection limit: a fixed answer, then close.
async fn refuse(mut stream: TcpStream) {
    let body = crate::edge::problem::Problem::new(
        crate::edge::problem::ProblemKind::Unavailable,
        Some("overloaded"),
        "the server is at its limit of open connections; try again shortly",
    );
    let response = body.into_response();
    let text = match response.into_body().into_string().await {
        Ok(text) => text,
        Err(_) => return,
    };
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        text.len()
    );
    // Answer only once the request head is in: a response that arrives
    // before the request is an error to HTTP clients (hyper's client calls it
    // an unexpected message), not a 503 they can retry on.
    let mut received = Vec::new();
    let _ = tokio::time::timeout(REFUSE_HEAD_WAIT, async {
        let mut buffer = [0u8; 2048];
        while received.len() < 16 * 1024 && !received.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(text.as_bytes()).await;
        let _ = stream.shutdown().await;
        // Closing with a request body still unread would reset the
        // connection and could discard the 503 before the client reads it.
        let mut buffer = [0u8; 2048];
        while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Connections over the cap that may be waiting for their 503 at once.
const MAX_PENDING_REFUSALS: usize = 256;

/// How long a refused connection may take to send its request head.
const REFUSE_HEAD_WAIT: Duration = Duration::from_secs(2);

/// Counts an open connection while it lives.
struct OpenConnection {
    open: Arc<AtomicUsize>,
    metrics: HttpMetrics,
}

impl OpenConnection {
    fn new(open: Arc<AtomicUsize>, metrics: HttpMetrics) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        metrics.open_connections.inc();
        Self { open, metrics }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        self.metrics.open_connections.dec();
    }
}
