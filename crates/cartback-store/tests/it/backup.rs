//! `cartback backup`'s SQLite copy: written whole or not at all, never over an
//! existing file without `--force`.

use cartback_store::backup::*;
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;

fn sqlite_with_a_tenant() -> (TestDatabase, String) {
    let db = TestDatabase::new(Backend::Sqlite);
    let store = Store::open(&db.url, 2).unwrap();
    store.migrate().unwrap();
    let tenant = cartback_store::tenants::create_tenant(
        &mut store.conn().unwrap(),
        &cartback_store::tenants::NewTenant {
            name: "Backed up".into(),
            from_email: "shop@example.com".into(),
            from_name: None,
            recovery_url: None,
            policy: cartback_domain::RecoveryPolicy::default(),
        },
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    (db, tenant.id)
}

#[test]
fn a_copy_is_written_and_refuses_to_overwrite_without_force() {
    let (db, tenant_id) = sqlite_with_a_tenant();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("copy.db");
    let report = backup_sqlite(&db.url, &to, false).unwrap();
    assert!(report.bytes > 0);
    assert!(check_sqlite_file(&to, true).unwrap().is_empty());
    assert!(check_sqlite_file(&to, false).unwrap().is_empty());
    let copy = Store::open(&format!("sqlite://{}", to.display()), 1).unwrap();
    let found =
        cartback_store::tenants::find_tenant(&mut copy.conn().unwrap(), &tenant_id).unwrap();
    assert_eq!(found.unwrap().name, "Backed up");
    drop(copy);

    assert!(matches!(
        backup_sqlite(&db.url, &to, false),
        Err(BackupError::TargetExists(_))
    ));
    backup_sqlite(&db.url, &to, true).unwrap();
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn what_cannot_be_backed_up_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("copy.db");
    assert!(matches!(
        backup_sqlite("postgres://postgres@127.0.0.1/x", &to, false),
        Err(BackupError::Postgres)
    ));
    let missing = format!("sqlite://{}", dir.path().join("none.db").display());
    assert!(matches!(
        backup_sqlite(&missing, &to, false),
        Err(BackupError::MissingSource(_))
    ));
    assert!(!dir.path().join("none.db").exists(), "nothing was created");
    let (db, _) = sqlite_with_a_tenant();
    assert!(matches!(
        backup_sqlite(&db.url, &dir.path().join("no/such/dir/copy.db"), false),
        Err(BackupError::BadTarget(_))
    ));
    assert!(!to.exists());
}
