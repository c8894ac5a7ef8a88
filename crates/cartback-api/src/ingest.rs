//! Group commit for cart capture. Handlers hand their validated upsert to one
//! collector; it gathers whatever has queued up (at most `max_batch`, lingering at
//! most `linger` for more) and commits the lot in one transaction with one
//! multi-row upsert. Each request is answered only after its batch committed, so an
//! acknowledged event is durable. Under load, requests queue while a batch
//! commits and the next batch takes them all: the transaction cost is shared
//! instead of paid per request. Alone, a request is written at once.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};

use cartback_store::carts::{CartRow, CartUpsert, upsert_carts};
use cartback_store::{Backend, DbConn, Store, StoreError};

/// How the collector groups writes.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Most carts in one transaction.
    pub max_batch: usize,
    /// How long a batch may wait for more carts once a writer is free (zero: take
    /// what has queued and go).
    pub linger: Duration,
    /// Batches committing at once. SQLite has one writer, so one; PostgreSQL
    /// gains from overlapping a batch's commit with the next one's statement.
    pub writers: usize,
    /// Requests that may wait for a batch before handlers wait to enqueue.
    pub queue: usize,
}

impl IngestConfig {
    pub fn for_backend(backend: Backend) -> IngestConfig {
        IngestConfig {
            max_batch: 256,
            linger: Duration::ZERO,
            writers: match backend {
                Backend::Sqlite => 1,
                Backend::Postgres => 2,
            },
            queue: 8192,
        }
    }
}

type Reply = oneshot::Sender<Result<CartRow, StoreError>>;

/// The handlers' side of the collector; cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    queue: mpsc::Sender<(CartUpsert, Reply)>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").finish_non_exhaustive()
    }
}

impl Ingest {
    /// Starts the collector on a thread of its own (it outlives any one actix
    /// worker). It stops when the last [`Ingest`] is dropped, after writing what
    /// was queued.
    pub fn start(store: Store, config: IngestConfig) -> std::io::Result<Ingest> {
        let (queue, receiver) = mpsc::channel(config.queue.max(1));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        std::thread::Builder::new()
            .name("cartback-ingest".to_owned())
            .spawn(move || runtime.block_on(collect(receiver, store, config)))?;
        Ok(Ingest { queue })
    }

    /// Stores one cart; resolves once the transaction holding it has committed.
    pub async fn upsert(&self, cart: CartUpsert) -> Result<CartRow, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Rejected("the ingest writer has stopped".into());
        self.queue
            .send((cart, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn collect(
    mut receiver: mpsc::Receiver<(CartUpsert, Reply)>,
    store: Store,
    config: IngestConfig,
) {
    let writers = Arc::new(Semaphore::new(config.writers.max(1)));
    // Writers keep connections of their own, outside the pool: no health-check
    // round trip per batch, and on SQLite a page cache that stays warm.
    let connections: Arc<WriterConnections> = Arc::default();
    let max_batch = config.max_batch.max(1);
    while let Some(first) = receiver.recv().await {
        // Wait for a free writer first: what queues meanwhile joins this batch.
        let Ok(permit) = writers.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !config.linger.is_zero() {
            let deadline = tokio::time::Instant::now() + config.linger;
            while batch.len() < max_batch {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(job)) => batch.push(job),
                    _ => break,
                }
            }
        }
        if config.writers <= 1 {
            // One writer: this thread writes the batch itself, sparing a hand-off
            // to another thread per batch. It runs nothing but this loop, so
            // blocking it holds up only the next batch, which has to wait anyway.
            write_batch(&store, &connections, batch);
            drop(permit);
            continue;
        }
        let store = store.clone();
        let connections = connections.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            write_batch(&store, &connections, batch);
        });
    }
    // Let the last batches finish before the thread (and its runtime) ends.
    let _ = writers.acquire_many(config.writers.max(1) as u32).await;
}

/// Idle connections of the writers (as many as there are writers, at most).
type WriterConnections = Mutex<Vec<DbConn>>;

fn write_batch(store: &Store, connections: &WriterConnections, batch: Vec<(CartUpsert, Reply)>) {
    let (carts, replies): (Vec<CartUpsert>, Vec<Reply>) = batch.into_iter().unzip();
    // Its own statement: the lock is released before the write (which takes it
    // again to give the connection back).
    let idle = connections
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop();
    let mut results = write_carts(store, idle, &carts, connections);
    // A connection that died under the batch (a database restart, a failover, a
    // terminated backend) is worth one more try on a fresh connection: the
    // upsert is idempotent, so carts written before it died are just written
    // again. A second failure is answered 503.
    let lost: Vec<usize> = (0..carts.len())
        .filter(|&i| matches!(&results[i], Err(error) if error.is_unavailable()))
        .collect();
    if !lost.is_empty() {
        tracing::warn!(
            carts = lost.len(),
            "ingest batch lost its database connection; retrying once on a fresh one"
        );
        let again: Vec<CartUpsert> = lost.iter().map(|&i| carts[i].clone()).collect();
        let retried = write_carts(store, None, &again, connections);
        for (i, result) in lost.into_iter().zip(retried) {
            results[i] = result;
        }
    }
    tracing::debug!(carts = carts.len(), "ingest batch committed");
    crate::middleware::metrics::record_ingest_batch(carts.len());
    for (reply, result) in replies.into_iter().zip(results) {
        // A client that went away no longer waits; its cart is stored all the same.
        let _ = reply.send(result);
    }
}

/// Writes `carts` on `own` (an idle writer connection), or a new one of the
/// writer's own, or failing that one borrowed from the pool.
fn write_carts(
    store: &Store,
    own: Option<DbConn>,
    carts: &[CartUpsert],
    connections: &WriterConnections,
) -> Vec<Result<CartRow, StoreError>> {
    let own = own.or_else(|| match store.writer_connection() {
        Ok(conn) => Some(conn),
        Err(error) => {
            tracing::warn!(%error, "no connection of the ingest writer's own; borrowing one");
            None
        }
    });
    match own {
        Some(mut conn) => {
            let results = upsert_carts(&mut conn, carts);
            // A connection that saw an error may be broken: the next batch opens a new one.
            if results.iter().all(Result::is_ok) {
                connections
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(conn);
            }
            results
        }
        None => match store.conn() {
            Ok(mut conn) => upsert_carts(&mut conn, carts),
            Err(error) => {
                let message = error.to_string();
                carts
                    .iter()
                    .map(|_| Err(StoreError::Unavailable(message.clone())))
                    .collect()
            }
        },
    }
}
