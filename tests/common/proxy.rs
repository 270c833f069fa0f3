//! A TCP forwarder that a test can cut (the database goes away) or freeze
//! (the database stops answering but keeps its connections, as a stopped
//! process would), now or as a given statement goes by.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A fresh MySQL database reached through a [`TcpProxy`]: the database,
/// the proxy, and the URL that goes through it.
pub async fn proxied_mysql() -> (super::TestDatabase, TcpProxy, String) {
    let database = super::TestDatabase::create(super::Backend::MySql).await;
    let mut url = url::Url::parse(database.url()).expect("a database URL");
    let target = format!(
        "{}:{}",
        url.host_str().expect("a host"),
        url.port().unwrap_or(3306)
    );
    let target = tokio::net::lookup_host(target)
        .await
        .expect("the database host resolves")
        .next()
        .expect("an address");
    let proxy = TcpProxy::start(target).await;
    url.set_host(Some("127.0.0.1")).expect("a host");
    url.set_port(Some(proxy.port)).expect("a port");
    (database, proxy, url.to_string())
}

pub struct TcpProxy {
    pub port: u16,
    accept: JoinHandle<()>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    frozen: Arc<watch::Sender<bool>>,
    /// Bytes that freeze the proxy as they go to the server.
    trigger: Arc<Mutex<Option<Vec<u8>>>>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let tracked = connections.clone();
        let (frozen, watching) = watch::channel(false);
        let frozen = Arc::new(frozen);
        let trigger = Arc::new(Mutex::new(None));
        let (freezer, armed) = (frozen.clone(), trigger.clone());
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let watching = watching.clone();
                let freeze = Freeze {
                    frozen: freezer.clone(),
                    trigger: armed.clone(),
                };
                let pipe = tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(target).await {
                        forward(inbound, outbound, watching, freeze).await;
                    }
                });
                tracked.lock().unwrap().push(pipe);
            }
        });
        Self {
            port,
            accept,
            connections,
            frozen,
            trigger,
        }
    }

    /// Freezes the proxy as the next chunk holding `statement` goes to the
    /// server: the server gets it, and its answer is held back.
    pub fn freeze_after(&self, statement: &str) {
        *self.trigger.lock().unwrap() = Some(statement.as_bytes().to_vec());
    }

    /// Closes the listener and every forwarded connection.
    pub fn cut(&self) {
        self.accept.abort();
        for pipe in self.connections.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    /// Stops forwarding bytes either way; connections stay open.
    pub fn freeze(&self) {
        let _ = self.frozen.send(true);
    }

    pub fn thaw(&self) {
        let _ = self.frozen.send(false);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// What freezes the proxy from inside a connection.
#[derive(Clone)]
struct Freeze {
    frozen: Arc<watch::Sender<bool>>,
    trigger: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Freeze {
    /// Freezes, before `chunk` is sent on, if it holds the armed bytes.
    fn check(&self, chunk: &[u8]) {
        let mut trigger = self.trigger.lock().unwrap();
        let hit = trigger
            .as_ref()
            .is_some_and(|bytes| chunk.windows(bytes.len()).any(|w| w == bytes.as_slice()));
        if hit {
            *trigger = None;
            let _ = self.frozen.send(true);
        }
    }
}

async fn forward(
    inbound: TcpStream,
    outbound: TcpStream,
    frozen: watch::Receiver<bool>,
    freeze: Freeze,
) {
    let (mut in_read, mut in_write) = inbound.into_split();
    let (mut out_read, mut out_write) = outbound.into_split();
    let up = copy(&mut in_read, &mut out_write, frozen.clone(), Some(freeze));
    let down = copy(&mut out_read, &mut in_write, frozen, None);
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

/// Copies until either side closes, holding bytes back while frozen. A
/// chunk that trips `freeze` is still sent: only what follows is held.
async fn copy(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    mut frozen: watch::Receiver<bool>,
    freeze: Option<Freeze>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return;
        }
        if let Some(freeze) = &freeze {
            freeze.check(&buffer[..read]);
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
