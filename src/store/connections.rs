//! [`Connections`]: sqlx's pool, with the connections between two uses kept
//! aside instead of given back.
//!
//! sqlx pings every connection that goes back into its pool, in a task of
//! its own: one more database round trip, and one more wake-up, for every
//! request. Here a connection a request is done with waits, as it is, for
//! the next request; only one idle for longer than [`HOT_FOR`] goes back to
//! sqlx's pool (which checks it then, and pings it again before handing it
//! out).
//!
//! A lease is closed when dropped unless the call that held it finished and
//! said so ([`Lease::keep`]). A call can end without finishing: an error
//! left the connection in an unknown state, the deadline cut it off, or its
//! client went away and the request's future was dropped mid-query. In the
//! last case sqlx's MySQL driver may have read a packet's header but not
//! its body; the connection's next statement then reads the rest as a
//! header and waits, until the deadline, for bytes that never come. Only
//! the code that saw the call through knows the connection is clean, so
//! keeping it is the exception that has to be asked for.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a connection may wait aside before it goes back to sqlx's pool.
const HOT_FOR: Duration = Duration::from_secs(20);

pub struct Connections<DB: Database> {
    pool: Pool<DB>,
    hot: Mutex<Vec<(PoolConnection<DB>, Instant)>>,
    /// Wakes a request waiting for a connection when one is set aside: with
    /// the pool at its limit, it may be the only one that frees up.
    returned: Notify,
}

/// Why no connection came.
pub enum NoConnection {
    TimedOut,
    Failed(sqlx::Error),
}

impl<DB: Database> Connections<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self {
            pool,
            hot: Mutex::new(Vec::new()),
            returned: Notify::new(),
        }
    }

    /// A connection, by `deadline`: the one used last, if one waits aside.
    pub async fn lease(&self, deadline: Instant) -> Result<Lease<'_, DB>, NoConnection> {
        loop {
            if let Some(conn) = self.take_hot() {
                return Ok(self.leased(conn));
            }
            let returned = self.returned.notified();
            tokio::pin!(returned);
            returned.as_mut().enable();
            // One may have been set aside between the look and the wait.
            if let Some(conn) = self.take_hot() {
                return Ok(self.leased(conn));
            }
            tokio::select! {
                acquired = self.pool.acquire() => {
                    return match acquired {
                        Ok(conn) => Ok(self.leased(conn)),
                        Err(sqlx::Error::PoolTimedOut) => Err(NoConnection::TimedOut),
                        Err(err) => Err(NoConnection::Failed(err)),
                    };
                }
                () = &mut returned => continue,
                () = tokio::time::sleep_until(deadline) => return Err(NoConnection::TimedOut),
            }
        }
    }

    fn leased(&self, conn: PoolConnection<DB>) -> Lease<'_, DB> {
        Lease {
            conn: Some(conn),
            from: self,
        }
    }

    fn take_hot(&self) -> Option<PoolConnection<DB>> {
        let mut hot = self.hot.lock().unwrap_or_else(|p| p.into_inner());
        // The oldest are first; those kept too long go back to sqlx's pool
        // (dropping them there does it).
        let stale = hot
            .iter()
            .take_while(|(_, since)| since.elapsed() > HOT_FOR)
            .count();
        drop(hot.drain(..stale));
        hot.pop().map(|(conn, _)| conn)
    }

    fn set_aside(&self, conn: PoolConnection<DB>) {
        self.hot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((conn, Instant::now()));
        self.returned.notify_one();
    }

    /// Connections open, and how many of them are idle (aside or pooled).
    pub fn counts(&self) -> (u32, usize) {
        let hot = self.hot.lock().unwrap_or_else(|p| p.into_inner()).len();
        (self.pool.size(), self.pool.num_idle() + hot)
    }
}

/// A connection in use: set aside for the next request by [`Lease::keep`],
/// closed when dropped without it.
pub struct Lease<'a, DB: Database> {
    conn: Option<PoolConnection<DB>>,
    from: &'a Connections<DB>,
}

impl<DB: Database> Lease<'_, DB> {
    /// Sets the connection aside for the next request: the call that held
    /// it ran to its end and left no statement or transaction open.
    pub fn keep(mut self) {
        if let Some(conn) = self.conn.take() {
            self.from.set_aside(conn);
        }
    }
}

impl<DB: Database> Deref for Lease<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        self.conn
            .as_deref()
            .expect("a lease holds its connection until dropped")
    }
}

impl<DB: Database> DerefMut for Lease<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.conn
            .as_deref_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl<DB: Database> Drop for Lease<'_, DB> {
    /// Not kept: closed, not given back to sqlx's pool (whose check on
    /// return would itself wait on a connection in an unknown state).
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}
