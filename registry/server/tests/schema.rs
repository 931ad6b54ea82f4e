//! The two databases get the same schema from the one migration list: the
//! same tables, columns (by class of type and nullability), indexes
//! (columns and uniqueness) and schema version, read back from each
//! database's own catalogue after a registry has migrated an empty one.

use std::collections::BTreeSet;

use registry::{Database, LookupKey, RegistryConfig, SealSecretKey};

mod support;
use support::{Backend, TestDb};

/// (table, column, type class, not null)
type Columns = BTreeSet<(String, String, &'static str, bool)>;
/// (table, columns, unique)
type Indexes = BTreeSet<(String, String, bool)>;

fn class(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "integer",
        "text" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" => "real",
        _ => "other",
    }
}

fn sqlite_schema(db: &TestDb) -> (Columns, Indexes, i64) {
    let Database::Sqlite(path) = &db.database else {
        unreachable!()
    };
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut columns = Columns::new();
    let mut indexes = Indexes::new();
    for table in &tables {
        let cols: Vec<(String, String, bool, i64)> = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap()
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (name, ty, notnull, pk) in &cols {
            // A primary key column is NOT NULL on PostgreSQL, as it is in effect on SQLite.
            columns.insert((table.clone(), name.clone(), class(ty), *notnull || *pk > 0));
            // An INTEGER PRIMARY KEY is the rowid: indexed without an index of its own.
            if *pk > 0 && ty == "INTEGER" && cols.iter().filter(|c| c.3 > 0).count() == 1 {
                indexes.insert((table.clone(), name.clone(), true));
            }
        }
        let list: Vec<(String, bool)> = conn
            .prepare(&format!("PRAGMA index_list({table})"))
            .unwrap()
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (index, unique) in list {
            let cols: Vec<String> = conn
                .prepare(&format!("PRAGMA index_info({index})"))
                .unwrap()
                .query_map([], |r| r.get(2))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            indexes.insert((table.clone(), cols.join(","), unique));
        }
    }
    let version = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    (columns, indexes, version)
}

fn postgres_schema(db: &TestDb) -> (Columns, Indexes, i64) {
    let Database::Postgres { url, .. } = &db.database else {
        unreachable!()
    };
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let mut columns = Columns::new();
    for row in c
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> 'schema_version'",
            &[],
        )
        .unwrap()
    {
        let nullable: String = row.get(3);
        columns.insert((row.get(0), row.get(1), class(row.get(2)), nullable == "NO"));
    }
    let mut indexes = Indexes::new();
    for row in c
        .query(
            "SELECT tablename::text, indexdef FROM pg_indexes
             WHERE schemaname = 'public' AND tablename <> 'schema_version'",
            &[],
        )
        .unwrap()
    {
        let def: String = row.get(1);
        let cols = def[def.rfind('(').unwrap() + 1..def.rfind(')').unwrap()].replace(' ', "");
        indexes.insert((row.get(0), cols, def.contains("UNIQUE INDEX")));
    }
    let version: i64 = c
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    (columns, indexes, version)
}

async fn migrated(backend: Backend) -> TestDb {
    let db = TestDb::new(backend);
    let cfg = RegistryConfig {
        database: db.database.clone(),
        tokens: vec!["t".into()],
        token_file: None,
        staff_tokens: vec![],
        history_limit: Default::default(),
        seal_key: SealSecretKey::generate(),
        old_seal_keys: vec![],
        lookup_key: LookupKey::generate(),
        tls: None,
        staged_max_age: registry::DEFAULT_STAGED_MAX_AGE,
        limits: Default::default(),
        staging: Default::default(),
        console: Default::default(),
    };
    let reg = registry::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    reg.shutdown().await;
    db
}

#[tokio::test]
async fn sqlite_and_postgres_have_the_same_schema() {
    let lite = migrated(Backend::Sqlite).await;
    let pg = migrated(Backend::Postgres).await;
    let (lite_cols, lite_idx, lite_version) = sqlite_schema(&lite);
    let (pg_cols, pg_idx, pg_version) = std::thread::spawn(move || postgres_schema(&pg))
        .join()
        .unwrap();
    assert!(lite_version >= 10, "{lite_version}");
    assert!(
        lite_cols.len() > 60 && lite_idx.len() > 10,
        "{lite_cols:?} {lite_idx:?}"
    );
    assert_eq!(lite_version, pg_version, "schema versions differ");
    let only = |a: &Columns, b: &Columns| a.difference(b).cloned().collect::<Vec<_>>();
    assert!(
        lite_cols == pg_cols,
        "columns only on SQLite: {:?}\ncolumns only on PostgreSQL: {:?}",
        only(&lite_cols, &pg_cols),
        only(&pg_cols, &lite_cols)
    );
    assert!(!lite_cols.iter().any(|c| c.2 == "other"), "{lite_cols:?}");
    assert_eq!(lite_idx, pg_idx, "indexes differ");
}
