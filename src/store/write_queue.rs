//! [`WriteQueue`]: one writer connection, fed first come first served, that
//! commits the writes waiting at the same moment together.
//!
//! SQLite lets one writer in at a time. Ten pooled connections racing for
//! that lock wait in SQLite's busy handler, which sleeps with a growing
//! back-off (seconds at the tail). Here writes wait in a FIFO queue instead,
//! and the writer runs every write that is waiting in one transaction, each
//! inside its own savepoint (so one write's failure undoes only that
//! write), with one commit and one sync for the group. Readers use their own
//! pool and, under WAL, are never blocked by the writer.
//!
//! An answered time-out means not written. Each job is queued, then either
//! started by the writer or cancelled (by its caller at the deadline, or by
//! the writer finding the deadline passed), one switch that only one side
//! wins. A cancelled job never runs. A started one is answered with what
//! really happened, even after its caller's deadline: its savepoint may
//! have run, and the group's commit decides whether it stays.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{Connection, Database};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::dialect::Dialect;
use super::error::{ErrorClass, StoreError, StoreResult, Unavailable, settle};
use super::op::{Failure, Op, backoff};

/// The most writes committed together.
const MAX_GROUP: usize = 64;
/// Writes waiting beyond this are refused at once (503) rather than queued.
const QUEUE_CAPACITY: usize = 4096;

/// Opens a fresh writer connection.
pub type Connect<DB> = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = sqlx::Result<<DB as Database>::Connection>> + Send>>
        + Send
        + Sync,
>;

/// The sending side; the writer task stops when it is dropped.
pub struct WriteQueue<D: Dialect> {
    jobs: mpsc::Sender<Box<dyn Job<D>>>,
    retries: Arc<AtomicU64>,
}

impl<D: Dialect> WriteQueue<D> {
    /// Starts the writer on `first`, an open connection (the store's
    /// migrations ran on it); `connect` opens a replacement when a
    /// connection has to be given up.
    pub fn start(first: <D::Db as Database>::Connection, connect: Connect<D::Db>) -> Self {
        let (jobs, queued) = mpsc::channel(QUEUE_CAPACITY);
        let retries = Arc::new(AtomicU64::new(0));
        let writer = Writer::<D> {
            conn: Some(first),
            connect,
            queued,
            retries: retries.clone(),
        };
        tokio::spawn(writer.run());
        Self { jobs, retries }
    }

    pub fn retries(&self) -> Arc<AtomicU64> {
        self.retries.clone()
    }

    pub async fn submit<T: Send + 'static>(
        &self,
        op: Op<D::Db, T>,
        deadline: Instant,
    ) -> StoreResult<T> {
        let (reply, answer) = oneshot::channel();
        let state = Arc::new(JobState::default());
        let job = Box::new(OpJob::<D, T> {
            op,
            deadline,
            state: state.clone(),
            result: None,
            reply,
        });
        if self.jobs.try_send(job).is_err() {
            return Err(StoreError::unavailable(Unavailable::Contended, None));
        }
        // A caller dropped before its answer (its client went away, or the
        // request's own time limit cut it off) withdraws a queued job too.
        let _withdraw = Withdraw(state.clone());
        tokio::pin!(answer);
        if let Ok(answered) = tokio::time::timeout_at(deadline, &mut answer).await {
            return answered.unwrap_or_else(|_| Err(unanswered(&state)));
        }
        if state.cancel() {
            return Err(StoreError::unavailable(Unavailable::TimedOut, None));
        }
        // Started: it may commit yet. Its transaction is bounded (SQLite's
        // busy timeout, the group's size), so wait for what it did.
        answer.await.unwrap_or_else(|_| Err(unanswered(&state)))
    }
}

/// The writer went away (shutdown) without answering.
fn unanswered(state: &JobState) -> StoreError {
    if state.started() {
        StoreError::OutcomeUnknown(None)
    } else {
        StoreError::unavailable(Unavailable::Unreachable, None)
    }
}

/// Cancels the job, if still queued, when its caller is done or dropped.
struct Withdraw(Arc<JobState>);

impl Drop for Withdraw {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Where a job is: queued, then started or cancelled, never both.
#[derive(Debug, Default)]
struct JobState(AtomicU8);

impl JobState {
    const QUEUED: u8 = 0;
    const STARTED: u8 = 1;
    const CANCELLED: u8 = 2;

    /// The writer's switch: true if the job is now started (or already was,
    /// in an earlier attempt of its group).
    fn start(&self) -> bool {
        match self.0.compare_exchange(
            Self::QUEUED,
            Self::STARTED,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => true,
            Err(now) => now == Self::STARTED,
        }
    }

    /// The caller's switch at its deadline (or the writer's, finding the
    /// deadline passed): true if the job will never run.
    fn cancel(&self) -> bool {
        match self.0.compare_exchange(
            Self::QUEUED,
            Self::CANCELLED,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => true,
            Err(now) => now == Self::CANCELLED,
        }
    }

    fn started(&self) -> bool {
        self.0.load(Ordering::Acquire) == Self::STARTED
    }
}

/// A queued write, its result kept until the group's commit decides it.
trait Job<D: Dialect>: Send {
    fn deadline(&self) -> Instant;
    /// Switches a queued job to started unless its deadline has passed or
    /// its caller cancelled it; says whether it may run.
    fn start(&self) -> bool;
    /// Runs the write in a savepoint; returns the error, if any, that the
    /// group cannot survive (the savepoint could not be opened or closed).
    fn run<'c>(
        &'c mut self,
        conn: &'c mut <D::Db as Database>::Connection,
    ) -> Pin<Box<dyn Future<Output = Option<sqlx::Error>> + Send + 'c>>;
    /// Answers the caller: its own result if the group committed, else why not.
    fn finish(self: Box<Self>, group: Result<(), StoreError>);
}

struct OpJob<D: Dialect, T> {
    op: Op<D::Db, T>,
    deadline: Instant,
    state: Arc<JobState>,
    result: Option<Result<T, Failure>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<D: Dialect, T: Send + 'static> Job<D> for OpJob<D, T> {
    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn start(&self) -> bool {
        if Instant::now() >= self.deadline {
            // Too late to start: the caller is answered 503 (or soon will
            // be), so the write must not happen. A retry of a started
            // job's group is still allowed.
            return !self.state.cancel() && self.state.start();
        }
        self.state.start()
    }

    fn run<'c>(
        &'c mut self,
        conn: &'c mut <D::Db as Database>::Connection,
    ) -> Pin<Box<dyn Future<Output = Option<sqlx::Error>> + Send + 'c>> {
        Box::pin(async move {
            let mut savepoint = match conn.begin().await {
                Ok(savepoint) => savepoint,
                Err(err) => return Some(err),
            };
            let result = (self.op)(&mut *savepoint).await;
            let closed = if result.is_ok() {
                savepoint.commit().await
            } else {
                savepoint.rollback().await
            };
            self.result = Some(result);
            closed.err()
        })
    }

    fn finish(self: Box<Self>, group: Result<(), StoreError>) {
        if !self.state.started() {
            // Cancelled, or never reached in a group that failed first: it
            // never runs now, and nothing of it was written.
            self.state.cancel();
            let why = match group {
                Err(err) if Instant::now() < self.deadline => err,
                _ => StoreError::unavailable(Unavailable::TimedOut, None),
            };
            let _ = self.reply.send(Err(why));
            return;
        }
        let answer = match (group, self.result) {
            (Ok(()), Some(Ok(value))) => Ok(value),
            (_, Some(Err(Failure::Refused(err)))) => Err(err),
            (Ok(()), Some(Err(Failure::Sql(err)))) => Err(settle(err, D::CODES)),
            (Err(err), _) => Err(err),
            (Ok(()), None) => Err(StoreError::unavailable(Unavailable::TimedOut, None)),
        };
        // The caller may have given up at its deadline; nobody to tell then.
        let _ = self.reply.send(answer);
    }
}

struct Writer<D: Dialect> {
    conn: Option<<D::Db as Database>::Connection>,
    connect: Connect<D::Db>,
    queued: mpsc::Receiver<Box<dyn Job<D>>>,
    retries: Arc<AtomicU64>,
}

impl<D: Dialect> Writer<D> {
    async fn run(mut self) {
        while let Some(first) = self.queued.recv().await {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match self.queued.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            self.commit_group(group).await;
        }
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }

    /// Runs and commits one group, again after a lock conflict (another
    /// process writing the file) while its writes still have time.
    async fn commit_group(&mut self, mut group: Vec<Box<dyn Job<D>>>) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = Instant::now();
            let (live, expired): (Vec<_>, Vec<_>) =
                group.into_iter().partition(|job| job.deadline() > now);
            for job in expired {
                job.finish(Err(StoreError::unavailable(Unavailable::TimedOut, None)));
            }
            if live.is_empty() {
                return;
            }
            group = live;
            let outcome = match self.connection().await {
                Ok(conn) => run_group::<D>(conn, &mut group).await,
                Err(err) => Err(err),
            };
            let err = match outcome {
                Ok(()) => {
                    group.into_iter().for_each(|job| job.finish(Ok(())));
                    return;
                }
                Err(err) => err,
            };
            // The connection's state is unknown after a failed group: start
            // the next one on a fresh connection.
            if let Some(conn) = self.conn.take() {
                let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
            }
            let class = ErrorClass::of(&err, D::CODES);
            let earliest = group.iter().map(|job| job.deadline()).min();
            let pause = backoff(attempt);
            let retry = matches!(class, ErrorClass::Transient | ErrorClass::ConnectionLost)
                && earliest.is_some_and(|deadline| Instant::now() + pause < deadline);
            if !retry {
                let reason = settle(err, D::CODES);
                let shared = Arc::new(reason);
                for job in group {
                    job.finish(Err(copy_of(&shared)));
                }
                return;
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(pause).await;
        }
    }

    async fn connection(&mut self) -> sqlx::Result<&mut <D::Db as Database>::Connection> {
        if self.conn.is_none() {
            self.conn = Some((self.connect)().await?);
        }
        Ok(self.conn.as_mut().expect("a connection was just opened"))
    }
}

/// Every write of the group in one transaction, each in a savepoint.
async fn run_group<D: Dialect>(
    conn: &mut <D::Db as Database>::Connection,
    group: &mut [Box<dyn Job<D>>],
) -> sqlx::Result<()> {
    let mut tx = conn.begin_with(D::BEGIN_WRITE).await?;
    // Each job is started just before it runs, not when the group forms:
    // one waiting behind a long write may run out of time meanwhile.
    for job in group.iter_mut().filter(|job| job.start()) {
        if let Some(err) = job.run(&mut tx).await {
            let _ = tx.rollback().await;
            return Err(err);
        }
    }
    tx.commit().await
}

/// The same failure for each write of a failed group. `sqlx::Error` cannot
/// be cloned, so each caller gets the class and the message.
fn copy_of(err: &StoreError) -> StoreError {
    match err {
        StoreError::Unavailable { reason, .. } => StoreError::unavailable(*reason, None),
        other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use sqlx::{Sqlite, SqliteConnection};
    use tokio::sync::Semaphore;

    use super::*;
    use crate::store::sqlite::SqliteDialect;

    async fn queue() -> WriteQueue<SqliteDialect> {
        let connect: Connect<Sqlite> =
            Arc::new(|| Box::pin(SqliteConnection::connect("sqlite::memory:")));
        let mut first = connect().await.unwrap();
        sqlx::query("CREATE TABLE written (n INTEGER NOT NULL)")
            .execute(&mut first)
            .await
            .unwrap();
        WriteQueue::start(first, connect)
    }

    /// Writes `n`, after `pause`.
    fn write(n: i64, pause: Duration) -> Op<Sqlite, i64> {
        Arc::new(move |conn| {
            Box::pin(async move {
                tokio::time::sleep(pause).await;
                sqlx::query("INSERT INTO written (n) VALUES (?)")
                    .bind(n)
                    .execute(&mut *conn)
                    .await?;
                Ok(n)
            })
        })
    }

    fn written() -> Op<Sqlite, Vec<i64>> {
        Arc::new(|conn| {
            Box::pin(async move {
                Ok(sqlx::query_scalar("SELECT n FROM written ORDER BY n")
                    .fetch_all(&mut *conn)
                    .await?)
            })
        })
    }

    fn in_secs(secs: u64) -> Instant {
        Instant::now() + Duration::from_secs(secs)
    }

    /// The late write is committed with the held one, in one group: it
    /// times out while the writer is busy with the group's first write.
    #[tokio::test]
    async fn a_write_that_times_out_while_its_group_runs_never_runs() {
        let queue = queue().await;
        let gate = Arc::new(Semaphore::new(0));
        let held: Op<Sqlite, ()> = {
            let gate = gate.clone();
            Arc::new(move |_| {
                let gate = gate.clone();
                Box::pin(async move {
                    let _ = gate.acquire().await;
                    Ok(())
                })
            })
        };
        let ran = Arc::new(AtomicBool::new(false));
        let late: Op<Sqlite, ()> = {
            let ran = ran.clone();
            Arc::new(move |_| {
                ran.store(true, Ordering::Relaxed);
                Box::pin(async { Ok(()) })
            })
        };

        // One thread: both are queued before the writer first runs, so it
        // takes them as one group.
        let (first, answer) = tokio::join!(queue.submit(held, in_secs(30)), async {
            let answer = queue
                .submit(late, Instant::now() + Duration::from_millis(20))
                .await;
            gate.add_permits(1);
            answer
        });
        first.unwrap();
        // FIFO: once a later write is answered, the group is done.
        queue
            .submit(write(1, Duration::ZERO), in_secs(30))
            .await
            .unwrap();

        assert!(matches!(
            answer,
            Err(StoreError::Unavailable {
                reason: Unavailable::TimedOut,
                ..
            })
        ));
        assert!(!ran.load(Ordering::Relaxed), "a write answered 503 ran");
    }

    #[tokio::test]
    async fn a_started_write_is_answered_with_its_commit_even_after_the_deadline() {
        let queue = queue().await;
        let slow = write(7, Duration::from_millis(300));

        let answer = queue
            .submit(slow, Instant::now() + Duration::from_millis(50))
            .await;

        assert_eq!(answer.unwrap(), 7);
        assert_eq!(queue.submit(written(), in_secs(30)).await.unwrap(), [7]);
    }

    #[test]
    fn a_job_is_started_or_cancelled_never_both() {
        for _ in 0..1_000 {
            let state = Arc::new(JobState::default());
            let starter = std::thread::spawn({
                let state = state.clone();
                move || state.start()
            });
            let cancelled = state.cancel();
            let started = starter.join().unwrap();
            assert_ne!(started, cancelled);
            assert_eq!(state.started(), started);
        }
    }
}
