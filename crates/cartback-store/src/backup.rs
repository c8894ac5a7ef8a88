//! `cartback backup`: a consistent copy of a live SQLite database.
//!
//! `VACUUM INTO` reads the database inside one read transaction, so the copy is
//! the database as of one instant even while the api and the worker keep
//! writing (WAL readers never block writers). The copy is written under a
//! temporary name next to the target, checked, synced to disk, and only then
//! renamed into place: a crash mid-backup never leaves a half-written file
//! under the backup's name. PostgreSQL has its own tool for this (`pg_dump`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::connection::{Backend, sqlite_path};
use crate::error::StoreError;

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "cartback backup copies SQLite databases only; back up PostgreSQL with pg_dump, e.g. \
         pg_dump -Fc -d \"$DATABASE_URL\" -f cartback.dump (see docs/operating.md, Backups)"
    )]
    Postgres,
    #[error("unsupported database URL: use sqlite://path")]
    UnsupportedUrl,
    #[error("an in-memory database cannot be backed up")]
    InMemory,
    #[error("no database at {0}")]
    MissingSource(PathBuf),
    #[error("{0} already exists: choose another name or pass --force to replace it")]
    TargetExists(PathBuf),
    #[error("the target {0} must name a file in an existing directory (as UTF-8 text)")]
    BadTarget(PathBuf),
    #[error("the copy failed its integrity check: {0}")]
    Damaged(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for BackupError {
    fn from(error: diesel::result::Error) -> BackupError {
        BackupError::Store(StoreError::Query(error))
    }
}

impl From<diesel::ConnectionError> for BackupError {
    fn from(error: diesel::ConnectionError) -> BackupError {
        BackupError::Store(StoreError::Connection(error))
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let context = context.into();
    move |source| BackupError::Io { context, source }
}

/// What a finished backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub took: Duration,
}

#[derive(QueryableByName)]
struct CheckRow {
    #[diesel(sql_type = Text, column_name = "check")]
    result: String,
}

/// SQLite's own check of a database file (a backup, say): `PRAGMA quick_check`,
/// or the slower and more thorough `PRAGMA integrity_check` when `full`. The
/// problems it found; empty when the file is sound. The file must exist.
pub fn check_sqlite_file(path: &Path, full: bool) -> Result<Vec<String>, BackupError> {
    if !path.is_file() {
        return Err(BackupError::MissingSource(path.to_owned()));
    }
    let text = path
        .to_str()
        .ok_or_else(|| BackupError::BadTarget(path.to_owned()))?;
    let mut conn = SqliteConnection::establish(text)?;
    // The pragmas as table-valued functions, their one column renamed so one
    // row type reads both.
    let query = if full {
        "SELECT integrity_check AS \"check\" FROM pragma_integrity_check()"
    } else {
        "SELECT quick_check AS \"check\" FROM pragma_quick_check()"
    };
    let rows: Vec<CheckRow> = diesel::sql_query(query).load(&mut conn)?;
    Ok(rows
        .into_iter()
        .map(|r| r.result)
        .filter(|r| r != "ok")
        .collect())
}

/// Copies the SQLite database at `url` to `to`, consistently, while others may
/// be writing to it. Refuses when `to` exists unless `force`; the file appears
/// under its name only once it is complete, checked and on disk. A PostgreSQL
/// URL is refused with [`BackupError::Postgres`], which names `pg_dump`.
pub fn backup_sqlite(url: &str, to: &Path, force: bool) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    match Backend::from_url(url).map_err(|_| BackupError::UnsupportedUrl)? {
        Backend::Postgres => return Err(BackupError::Postgres),
        Backend::Sqlite => {}
    }
    let source = sqlite_path(url);
    if source.contains(":memory:") || source.starts_with("file:") {
        return Err(BackupError::InMemory);
    }
    // Opening a missing file would create an empty database and "back it up".
    if !Path::new(source).is_file() {
        return Err(BackupError::MissingSource(PathBuf::from(source)));
    }
    if to.exists() && !force {
        return Err(BackupError::TargetExists(to.to_owned()));
    }
    let directory = match to.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = to
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|_| directory.is_dir())
        .ok_or_else(|| BackupError::BadTarget(to.to_owned()))?;

    // An empty file under a temporary name in the target's directory (so the
    // final rename stays on one file system); VACUUM INTO accepts an empty file.
    // Dropped (and removed) on any error below.
    let temp = PartialFile::create(&directory, file_name)?;
    let temp_path = temp
        .path
        .to_str()
        .ok_or_else(|| BackupError::BadTarget(to.to_owned()))?
        .to_owned();

    {
        let mut conn = SqliteConnection::establish(source)?;
        // Writers hold the lock only briefly; a read transaction needs no more
        // than to wait out a checkpoint's moment.
        conn.batch_execute("PRAGMA busy_timeout = 10000;")?;
        diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(&temp_path)
            .execute(&mut conn)?;
    }
    let problems = check_sqlite_file(Path::new(&temp_path), false)?;
    if !problems.is_empty() {
        return Err(BackupError::Damaged(problems.join("; ")));
    }
    // SQLite does not sync the file VACUUM INTO writes; do it before the rename
    // makes it the backup.
    std::fs::File::open(&temp.path)
        .and_then(|file| file.sync_all())
        .map_err(io("syncing the backup to disk"))?;
    let persisted = if force {
        std::fs::rename(&temp.path, to)
    } else {
        // A hard link refuses (atomically) a target created since the check
        // above; the temporary name is removed when `temp` drops.
        std::fs::hard_link(&temp.path, to)
    };
    match persisted {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::TargetExists(to.to_owned()));
        }
        Err(e) => return Err(io(format!("renaming the backup to {}", to.display()))(e)),
    }
    // The rename itself is durable once the directory is synced (Unix).
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(&directory) {
        let _ = dir.sync_all();
    }
    let bytes = std::fs::metadata(to)
        .map_err(io(format!("reading {}", to.display())))?
        .len();
    let took = started.elapsed();
    tracing::info!(bytes, took_ms = took.as_millis() as u64, "backup written");
    Ok(BackupReport {
        path: to.to_owned(),
        bytes,
        took,
    })
}

/// An empty file under a unique temporary name (`.<name>.<random>.partial`) in
/// the target's directory, removed on drop unless it was renamed away.
struct PartialFile {
    path: PathBuf,
}

impl PartialFile {
    fn create(directory: &Path, file_name: &str) -> Result<PartialFile, BackupError> {
        let mut attempt = 0;
        loop {
            let path = directory.join(format!(
                ".{file_name}.{}.partial",
                crate::ids::random_id("", 10)
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(PartialFile { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 10 => {
                    attempt += 1;
                }
                Err(e) => {
                    return Err(io(format!(
                        "creating a temporary file in {}",
                        directory.display()
                    ))(e));
                }
            }
        }
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
