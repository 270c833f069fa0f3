//! A TCP forwarder that a test can cut (the database goes away) or freeze
//! (the database stops answering but keeps its connections, as a stopped
//! process would).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct TcpProxy {
    pub port: u16,
    accept: JoinHandle<()>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    frozen: watch::Sender<bool>,
}

impl TcpProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let connections = Arc::new(Mutex::new(Vec::new()));
        let tracked = connections.clone();
        let (frozen, watching) = watch::channel(false);
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let watching = watching.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(target).await {
                        forward(inbound, outbound, watching).await;
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
        }
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

async fn forward(inbound: TcpStream, outbound: TcpStream, frozen: watch::Receiver<bool>) {
    let (mut in_read, mut in_write) = inbound.into_split();
    let (mut out_read, mut out_write) = outbound.into_split();
    let up = copy(&mut in_read, &mut out_write, frozen.clone());
    let down = copy(&mut out_read, &mut in_write, frozen);
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

/// Copies until either side closes, holding bytes back while frozen.
async fn copy(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    mut frozen: watch::Receiver<bool>,
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
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
