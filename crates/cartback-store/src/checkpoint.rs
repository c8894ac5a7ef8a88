//! WAL checkpoints on a thread of their own (SQLite only).
//!
//! Left to itself, SQLite checkpoints on the connection whose commit pushed the WAL
//! past `wal_autocheckpoint` pages (1,000 by default): the ingest writer would stop
//! taking batches every few hundred milliseconds while it copies pages into the
//! database file and waits for two fsyncs. Here a background connection runs a
//! PASSIVE checkpoint every 50 ms while the WAL grows; PASSIVE never blocks writers
//! or readers, so the writer keeps committing meanwhile.
//!
//! The WAL file starts over only when a write begins with every frame copied. Under
//! a steady stream of commits a background checkpoint is always overtaken by one,
//! so the writers' own automatic checkpoint stays on, at
//! [`WRITER_CHECKPOINT_PAGES`]: the writer that passes it copies the few frames
//! the background thread has not and then starts the WAL over, which bounds its
//! size. That costs the writer two fsyncs every 8,000 pages instead of a full
//! checkpoint every 1,000.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

/// The WAL size, in pages, past which a committing connection checkpoints by
/// itself (SQLite's default is 1,000): 8,000 pages of 4 KiB bound the WAL near
/// 32 MiB.
pub(crate) const WRITER_CHECKPOINT_PAGES: u32 = 8000;

/// How often the background connection checkpoints while the WAL grows.
const BUSY_INTERVAL: Duration = Duration::from_millis(50);
/// Its pause once nothing new was written, so an idle service barely wakes it.
const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// The background checkpointer of one database file; it stops when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Sender<()>,
}

#[derive(QueryableByName)]
struct CheckpointOutcome {
    /// Frames in the WAL when the checkpoint ran.
    #[diesel(sql_type = Integer)]
    log: i32,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` (a file, not `:memory:`).
    pub(crate) fn start(path: &str) -> std::io::Result<Checkpointer> {
        let (stop, stopped) = mpsc::channel::<()>();
        let path = path.to_owned();
        std::thread::Builder::new()
            .name("cartback-checkpoint".to_owned())
            .spawn(move || {
                let mut conn = match SqliteConnection::establish(&path) {
                    Ok(conn) => conn,
                    Err(error) => {
                        tracing::warn!(%error, "background WAL checkpoints are off");
                        return;
                    }
                };
                // A checkpoint reads frames from the WAL, not through the page cache.
                let _ = conn.batch_execute("PRAGMA cache_size = -64;");
                let mut last_log = -1;
                let mut interval = BUSY_INTERVAL;
                loop {
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let outcome = diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                        .get_result::<CheckpointOutcome>(&mut conn);
                    interval = match outcome {
                        Ok(CheckpointOutcome { log }) if log != last_log => {
                            last_log = log;
                            BUSY_INTERVAL
                        }
                        Ok(_) => IDLE_INTERVAL,
                        Err(error) => {
                            tracing::debug!(%error, "background WAL checkpoint failed");
                            IDLE_INTERVAL
                        }
                    };
                }
            })?;
        Ok(Checkpointer { stop })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}
