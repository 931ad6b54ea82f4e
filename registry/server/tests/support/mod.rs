//! The databases the HTTP tests run on: every test written with
//! [`on_both!`] runs twice, as `NAME::sqlite` on a fresh SQLite file and as
//! `NAME::postgres` on a fresh database of the test binary's own PostgreSQL
//! cluster (`registry::pg_cluster`, started on first use).

#![allow(dead_code)]

use registry::pg_cluster::PgCluster;
use registry::Database;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test; a SQLite file lives as long as this.
#[derive(Debug)]
pub struct TestDb {
    pub database: Database,
    pub backend: Backend,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = match backend {
            Backend::Sqlite => Database::sqlite(dir.path().join("r.db")),
            Backend::Postgres => PgCluster::shared().database(),
        };
        TestDb {
            database,
            backend,
            _dir: dir,
        }
    }

    /// The first column of the first row of `sql`, an integer.
    pub fn count(&self, sql: &str) -> i64 {
        match &self.database {
            Database::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Database::Postgres { url, .. } => {
                let (url, sql) = (url.clone(), sql.to_owned());
                // The synchronous client cannot run inside the test's runtime.
                std::thread::spawn(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                    c.query_one(sql.as_str(), &[]).unwrap().get::<_, i64>(0)
                })
                .join()
                .unwrap()
            }
        }
    }

    /// Runs a statement.
    pub fn execute(&self, sql: &str) {
        match &self.database {
            Database::Sqlite(path) => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute(sql, [])
                    .unwrap();
            }
            Database::Postgres { url, .. } => {
                let (url, sql) = (url.clone(), sql.to_owned());
                std::thread::spawn(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                    c.batch_execute(&sql).unwrap();
                })
                .join()
                .unwrap();
            }
        }
    }

    /// The first column of every row of `sql`, a blob.
    pub fn blobs(&self, sql: &str) -> Vec<Vec<u8>> {
        match &self.database {
            Database::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                let rows = stmt.query_map([], |r| r.get(0)).unwrap();
                rows.collect::<Result<_, _>>().unwrap()
            }
            Database::Postgres { url, .. } => {
                let (url, sql) = (url.clone(), sql.to_owned());
                std::thread::spawn(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                    c.query(sql.as_str(), &[])
                        .unwrap()
                        .iter()
                        .map(|row| row.get::<_, Vec<u8>>(0))
                        .collect()
                })
                .join()
                .unwrap()
            }
        }
    }

    /// A directory for the test's other files (token files, keys).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

/// `on_both!(async fn name(backend: Backend) { … })` makes the tests
/// `name::sqlite` and `name::postgres`; `on_both!([flavor = "multi_thread"]
/// async fn …)` passes its brackets to `#[tokio::test(…)]`.
#[macro_export]
macro_rules! on_both {
    ($([$($cfg:tt)*])? $(#[$attr:meta])* async fn $name:ident($b:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$attr])*
            async fn run($b: Backend) $body

            #[tokio::test$(($($cfg)*))?]
            async fn sqlite() {
                run(Backend::Sqlite).await
            }

            #[tokio::test$(($($cfg)*))?]
            async fn postgres() {
                run(Backend::Postgres).await
            }
        }
    };
}
