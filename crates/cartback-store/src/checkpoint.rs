//! WAL checkpoints on a thread of their own (SQLite only).
//!
//! Left to itself, SQLite checkpoints on the connection whose commit pushed the WAL
//! past `wal_autocheckpoint` pages: the ingest writer would stop taking batches
//! while it copies pages into the database file and waits for two fsyncs. Here a
//! background connection runs a PASSIVE checkpoint every few milliseconds while
//! the WAL grows; PASSIVE never blocks writers or readers, so the writer keeps
//! committing meanwhile. The writers' own automatic checkpoint stays as a
//! backstop at [`WRITER_CHECKPOINT_PAGES`]: a writer that finds the WAL that large
//! (the background thread fell behind) checkpoints itself, and as the one writer
//! it then finds the WAL fully copied and starts it over, which bounds its size.

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
/// Its pause after a checkpoint that a commit overtook.
const CATCH_UP_INTERVAL: Duration = Duration::from_millis(1);
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
    /// Of those, the frames now copied into the database file.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
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
                        // A commit landed meanwhile: copy the rest at once. The WAL
                        // starts over only once a checkpoint has copied all of it, so
                        // a steady stream of commits must not keep it behind.
                        Ok(CheckpointOutcome { log, checkpointed }) if checkpointed < log => {
                            last_log = log;
                            CATCH_UP_INTERVAL
                        }
                        Ok(CheckpointOutcome { log, .. }) if log != last_log => {
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
