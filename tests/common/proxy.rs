//! A TCP forwarder that a test can cut (the database goes away) or freeze
//! (the database stops answering but keeps its connections, as a stopped
//! process would), now or as a given statement goes by; or that loses one
//! connection just as the write it carries commits.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// Bytes whose write loses its connection as it commits.
    commit_cut: Arc<Mutex<Option<CommitCut>>>,
    /// Connections cut that way so far.
    cuts: Arc<AtomicUsize>,
    late: Arc<Late>,
}

/// The marker of the write whose connection is cut as it commits, and how.
type CommitCut = (Vec<u8>, Delivery);

/// What becomes of the statement that commits, when its connection is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The server gets it and answers; the answer never reaches the client.
    Delivered,
    /// It never reaches the server.
    Dropped,
    /// It reaches the server only when the test says so
    /// ([`TcpProxy::deliver_late`]), on the same server connection, long
    /// after the client lost it.
    Late,
}

/// A statement held back by [`Delivery::Late`], and what the server said.
struct Late {
    release: tokio::sync::Semaphore,
    /// The first byte of the answer's payload: 0x00 OK, 0xFF an error.
    answer: Mutex<Option<u8>>,
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
        let commit_cut = Arc::new(Mutex::new(None));
        let cuts = Arc::new(AtomicUsize::new(0));
        let late = Arc::new(Late {
            release: tokio::sync::Semaphore::new(0),
            answer: Mutex::new(None),
        });
        let (freezer, armed, cut_armed, counted, held) = (
            frozen.clone(),
            trigger.clone(),
            commit_cut.clone(),
            cuts.clone(),
            late.clone(),
        );
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let watching = watching.clone();
                let late = held.clone();
                let freeze = Freeze {
                    frozen: freezer.clone(),
                    trigger: armed.clone(),
                    commit_cut: cut_armed.clone(),
                    cuts: counted.clone(),
                    in_transaction: false,
                    armed_here: None,
                };
                let pipe = tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(target).await {
                        forward(inbound, outbound, watching, freeze, late).await;
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
            commit_cut,
            cuts,
            late,
        }
    }

    /// Sends the statement [`Delivery::Late`] held back.
    pub fn deliver_late(&self) {
        self.late.release.add_permits(1);
    }

    /// Whether the server refused the late statement, once it answered.
    pub fn late_statement_refused(&self) -> Option<bool> {
        self.late.answer.lock().unwrap().map(|first| first == 0xFF)
    }

    /// How many connections [`Self::cut_at_commit_of`] has cut.
    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::Acquire)
    }

    /// Cuts the connection that carries `marker` (e.g. a title: with
    /// prepared statements, only the values travel) just as its write
    /// commits: with the statement holding it, if that is sent outside a
    /// transaction (it commits by itself), else with the transaction's
    /// COMMIT. Once, on the first connection that gets there.
    pub fn cut_at_commit_of(&self, marker: &str, delivery: Delivery) {
        *self.commit_cut.lock().unwrap() = Some((marker.as_bytes().to_vec(), delivery));
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

/// What freezes or cuts the proxy from inside a connection.
#[derive(Clone)]
struct Freeze {
    frozen: Arc<watch::Sender<bool>>,
    trigger: Arc<Mutex<Option<Vec<u8>>>>,
    commit_cut: Arc<Mutex<Option<CommitCut>>>,
    cuts: Arc<AtomicUsize>,
    /// This connection's view: inside BEGIN … COMMIT?
    in_transaction: bool,
    /// The commit cut, taken by this connection when its marker went by
    /// inside a transaction: the COMMIT is cut.
    armed_here: Option<Delivery>,
}

impl Freeze {
    /// Freezes, before `chunk` is sent on, if it holds the armed bytes;
    /// says whether to cut the connection at this chunk, and how.
    fn check(&mut self, chunk: &[u8]) -> Option<Delivery> {
        let holds = |bytes: &[u8]| chunk.windows(bytes.len()).any(|w| w == bytes);
        let mut trigger = self.trigger.lock().unwrap();
        if trigger.as_deref().is_some_and(holds) {
            *trigger = None;
            let _ = self.frozen.send(true);
        }
        drop(trigger);
        if holds(b"BEGIN") {
            self.in_transaction = true;
        }
        let commits = holds(b"COMMIT");
        if commits || holds(b"ROLLBACK") {
            self.in_transaction = false;
        }
        if commits && let Some(delivery) = self.armed_here.take() {
            self.cuts.fetch_add(1, Ordering::AcqRel);
            return Some(delivery);
        }
        let mut cut = self.commit_cut.lock().unwrap();
        if cut.as_ref().is_some_and(|(marker, _)| holds(marker)) {
            let (_, delivery) = cut.take().expect("checked");
            if self.in_transaction {
                self.armed_here = Some(delivery);
            } else {
                self.cuts.fetch_add(1, Ordering::AcqRel);
                return Some(delivery);
            }
        }
        None
    }
}

async fn forward(
    inbound: TcpStream,
    outbound: TcpStream,
    frozen: watch::Receiver<bool>,
    freeze: Freeze,
    late: Arc<Late>,
) {
    let (mut in_read, mut in_write) = inbound.into_split();
    let (mut out_read, mut out_write) = outbound.into_split();
    // Set once the connection is cut: the server's answers go nowhere.
    let cut = AtomicBool::new(false);
    let watching = frozen.clone();
    let up = async {
        match copy(&mut in_read, &mut out_write, watching, Some(freeze), &cut).await {
            // Wait for the server's answer (dropped below), so that it has
            // run the statement before the connection closes.
            Some((Delivery::Delivered, _)) => std::future::pending().await,
            Some((Delivery::Late, held)) => Some(held),
            _ => None,
        }
    };
    let down = async {
        copy(&mut out_read, &mut in_write, frozen, None, &cut).await;
        None
    };
    let held = tokio::select! {
        held = up => held,
        held = down => held,
    };
    let Some(held) = held else { return };
    // The client's side closes now; the server's stays open until the
    // held statement has gone through and been answered.
    drop((in_read, in_write));
    let Ok(permit) = late.release.acquire().await else {
        return;
    };
    permit.forget();
    if out_write.write_all(&held).await.is_err() {
        return;
    }
    let mut answer = [0u8; 5];
    if out_read.read_exact(&mut answer).await.is_ok() {
        *late.answer.lock().unwrap() = Some(answer[4]);
    }
}

/// Copies until either side closes, holding bytes back while frozen. A
/// chunk that trips `freeze` is still sent: only what follows is held. A
/// chunk that trips a cut is sent or not as the cut says, and is returned
/// with it, ending the copy; the other direction then copies nothing more,
/// ending when its next chunk arrives.
async fn copy(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    mut frozen: watch::Receiver<bool>,
    mut freeze: Option<Freeze>,
    cut: &AtomicBool,
) -> Option<(Delivery, Vec<u8>)> {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return None;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => read,
        };
        if frozen.wait_for(|frozen| !*frozen).await.is_err() {
            return None;
        }
        if cut.load(Ordering::Acquire) {
            return None;
        }
        if let Some(delivery) = freeze
            .as_mut()
            .and_then(|freeze| freeze.check(&buffer[..read]))
        {
            cut.store(true, Ordering::Release);
            if delivery == Delivery::Delivered {
                let _ = to.write_all(&buffer[..read]).await;
            }
            return Some((delivery, buffer[..read].to_vec()));
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return None;
        }
    }
}
