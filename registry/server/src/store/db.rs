//! The two databases behind one small SQL interface: SQLite (one connection
//! behind a mutex, the embedded default) and PostgreSQL (a pool of the
//! synchronous `postgres` client).
//!
//! Queries are written once, in the dialect both accept: positional
//! parameters `?1`, `?2`, … (turned into `$1`, `$2`, … for PostgreSQL),
//! `ON CONFLICT … DO UPDATE`, `RETURNING`, `CAST(… AS BIGINT)` where a sum
//! would be `numeric` on PostgreSQL. Values cross as [`Value`], read back
//! with conversions lenient enough for both (an `EXISTS` is a boolean on
//! PostgreSQL and an integer on SQLite).
//!
//! Write transactions are serialised on both: SQLite's `BEGIN IMMEDIATE`
//! takes its write lock, and on PostgreSQL [`Db::begin`] takes one
//! transaction-scoped advisory lock ([`WRITE_LOCK`]) first, so the next case
//! number, the quotas and the idempotency checks are read and written by one
//! transaction at a time, as on SQLite, in any number of registry processes.
//!
//! The schema is [`super::schema::MIGRATIONS`], written for SQLite and translated for
//! PostgreSQL by [`pg_ddl`] (`INTEGER` is `BIGINT`, `BLOB` is `BYTEA`, `REAL`
//! is `DOUBLE PRECISION`, an `INTEGER PRIMARY KEY` an identity column); the
//! version is `PRAGMA user_version` on SQLite and the `schema_version` table on
//! PostgreSQL. `tests::schemas_match` compares the two resulting schemas.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use postgres::types::{FromSql, IsNull, ToSql, Type};
use r2d2_postgres::r2d2;
use r2d2_postgres::PostgresConnectionManager;

use super::StoreError;

/// Where the registry keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file, created and migrated as needed (the embedded default).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by connection string: a URL
    /// (`postgres://registry@db.example/registry?sslmode=require`) or
    /// libpq's `key=value` form (`host=/run/postgresql dbname=registry`).
    /// The database must exist; the registry creates and migrates its tables.
    Postgres {
        url: String,
        /// PEM certificates that sign the database server's certificate, for
        /// `sslmode=require`; the system's roots when `None`.
        tls_ca: Option<PathBuf>,
    },
}

impl Database {
    /// A SQLite file.
    pub fn sqlite(path: impl Into<PathBuf>) -> Database {
        Database::Sqlite(path.into())
    }

    /// A PostgreSQL connection string, verified against the system's roots
    /// when it asks for TLS.
    pub fn postgres(url: impl Into<String>) -> Database {
        Database::Postgres {
            url: url.into(),
            tls_ca: None,
        }
    }

    /// Reads `--database`: `postgres://…` or `postgresql://…` (or a
    /// `key=value` string with `dbname=`), `sqlite:PATH`, or a bare path (SQLite).
    pub fn parse(text: &str) -> Database {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Database::postgres(text)
        } else if let Some(path) = text.strip_prefix("sqlite:") {
            Database::sqlite(path)
        } else if text.contains("dbname=") {
            Database::postgres(text)
        } else {
            Database::sqlite(text)
        }
    }

    /// For logs and errors: the SQLite path, or the PostgreSQL target without
    /// user or password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres { url, .. } => match url.parse::<postgres::Config>() {
                Ok(cfg) => {
                    let hosts: Vec<String> = cfg
                        .get_hosts()
                        .iter()
                        .map(|h| match h {
                            postgres::config::Host::Tcp(name) => name.clone(),
                            postgres::config::Host::Unix(path) => path.display().to_string(),
                        })
                        .collect();
                    format!(
                        "postgresql {} database {}",
                        hosts.join(","),
                        cfg.get_dbname().unwrap_or("(default)")
                    )
                }
                Err(_) => "postgresql (unreadable connection string)".into(),
            },
        }
    }
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Database {
        Database::Sqlite(path)
    }
}

impl From<&PathBuf> for Database {
    fn from(path: &PathBuf) -> Database {
        Database::Sqlite(path.clone())
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Database {
        Database::Sqlite(path.to_path_buf())
    }
}

/// The key of the advisory lock every PostgreSQL write transaction takes
/// (the registry's SQLite write lock). Any constant; "XF" in ASCII.
pub const WRITE_LOCK: i64 = 0x5846;

/// Connections a PostgreSQL registry keeps at most. Writes go one at a
/// time anyway ([`WRITE_LOCK`]); the others serve reads and wait for it.
const PG_POOL_SIZE: u32 = 8;

/// One value crossing into or out of either database.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// Read from PostgreSQL (`EXISTS`); bound as what the column wants.
    Bool(bool),
}

/// Turns a Rust value into a [`Value`] parameter.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u8, u16, bool);

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// Positional parameters: `params![a, b]` binds `?1` to `a` and `?2` to `b`.
macro_rules! params {
    ($($x:expr),* $(,)?) => {
        &[$($crate::store::db::ToValue::to_value(&$x)),*] as &[$crate::store::db::Value]
    };
}
pub(crate) use params;

/// Reads a Rust value from a [`Value`].
pub trait FromValue: Sized {
    fn from_value(v: Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(i),
            Value::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }
}
macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: Value) -> Option<$t> {
                i64::from_value(v).and_then(|i| <$t>::try_from(i).ok())
            }
        }
    )*};
}
int_from_value!(i32, u32, u8, u64);

impl FromValue for bool {
    fn from_value(v: Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(b),
            Value::Int(i) => Some(i != 0),
            _ => None,
        }
    }
}
impl FromValue for f64 {
    fn from_value(v: Value) -> Option<f64> {
        match v {
            Value::Real(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            _ => None,
        }
    }
}
impl FromValue for f32 {
    fn from_value(v: Value) -> Option<f32> {
        f64::from_value(v).map(|f| f as f32)
    }
}
impl FromValue for String {
    fn from_value(v: Value) -> Option<String> {
        match v {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Option<Vec<u8>> {
        match v {
            Value::Blob(b) => Some(b),
            Value::Text(s) => Some(s.into_bytes()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Option<Option<T>> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A column position (`row.get::<_, i64>(2)` reads as it did with rusqlite).
pub trait ColumnIndex {
    fn index(self) -> usize;
}
impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    /// Column `idx` as `T`.
    pub fn get<I: ColumnIndex, T: FromValue>(&self, idx: I) -> Result<T, StoreError> {
        let idx = idx.index();
        let value = self.0.get(idx).cloned().ok_or(StoreError::Column(idx))?;
        T::from_value(value).ok_or(StoreError::Column(idx))
    }
}

/// `.optional()` on a query that may find no row, as with rusqlite.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>, StoreError>;
}
impl<T> OptionalExtension<T> for Result<T, StoreError> {
    fn optional(self) -> Result<Option<T>, StoreError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(StoreError::NoRow) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// What both databases do, on a connection or inside a transaction.
pub trait Sql {
    /// Runs a statement; returns the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<usize, StoreError>;
    /// Runs a query; returns every row.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Runs statements separated by `;`, without parameters.
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;

    /// The first row, mapped; [`StoreError::NoRow`] when there is none.
    fn query_row<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let rows = self.query(sql, params)?;
        f(rows.first().ok_or(StoreError::NoRow)?)
    }

    /// Every row, mapped.
    fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        f: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.query(sql, params)?.iter().map(f).collect()
    }
}

// ---- SQLite ----

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput;
        Ok(match self {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Int(i) => ToSqlOutput::from(*i),
            Value::Real(f) => ToSqlOutput::from(*f),
            Value::Text(s) => ToSqlOutput::from(s.as_str()),
            Value::Blob(b) => ToSqlOutput::from(b.as_slice()),
            Value::Bool(b) => ToSqlOutput::from(*b),
        })
    }
}

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn sqlite_execute(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))?)
}

fn sqlite_query(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(sqlite_value(row.get_ref(i)?));
        }
        out.push(Row(values));
    }
    Ok(out)
}

// ---- PostgreSQL ----

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                _ => i.to_string().as_str().to_sql(ty, out),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => f.to_string().as_str().to_sql(ty, out),
            },
            Value::Bool(b) => match *ty {
                Type::BOOL => b.to_sql(ty, out),
                _ => Value::Int(i64::from(*b)).to_sql(ty, out),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Value, Box<dyn std::error::Error + Sync + Send>> {
        Ok(match *ty {
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            _ => Value::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// `?1` → `$1`, outside quoted strings.
pub(crate) fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '?' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A migration of [`super::schema::MIGRATIONS`] (written for SQLite) in PostgreSQL's types.
pub(crate) fn pg_ddl(sql: &str) -> String {
    sql.replace(
        "INTEGER PRIMARY KEY",
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    )
    .replace("INTEGER", "BIGINT")
    .replace("BLOB", "BYTEA")
    .replace("REAL", "DOUBLE PRECISION")
}

fn pg_rows(rows: Vec<postgres::Row>) -> Result<Vec<Row>, StoreError> {
    rows.into_iter()
        .map(|row| {
            (0..row.len())
                .map(|i| row.try_get::<_, Value>(i).map_err(StoreError::Postgres))
                .collect::<Result<Vec<_>, _>>()
                .map(Row)
        })
        .collect()
}

fn pg_params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

macro_rules! pg_sql {
    ($t:ty) => {
        impl Sql for $t {
            fn execute(&mut self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
                let n = postgres::GenericClient::execute(
                    self,
                    pg_placeholders(sql).as_str(),
                    &pg_params(params),
                )?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }

            fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
                pg_rows(postgres::GenericClient::query(
                    self,
                    pg_placeholders(sql).as_str(),
                    &pg_params(params),
                )?)
            }

            fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
                Ok(postgres::GenericClient::batch_execute(self, sql)?)
            }
        }
    };
}
pg_sql!(postgres::Client);
pg_sql!(postgres::Transaction<'_>);

type PlainPool = r2d2::Pool<PostgresConnectionManager<postgres::NoTls>>;
type TlsPool = r2d2::Pool<PostgresConnectionManager<tokio_postgres_rustls::MakeRustlsConnect>>;

/// The PostgreSQL pool, with or without TLS to the database.
pub(crate) enum PgPool {
    Plain(PlainPool),
    Tls(TlsPool),
}

/// A connection taken from [`PgPool`].
pub(crate) enum PgConn {
    Plain(r2d2::PooledConnection<PostgresConnectionManager<postgres::NoTls>>),
    Tls(
        r2d2::PooledConnection<PostgresConnectionManager<tokio_postgres_rustls::MakeRustlsConnect>>,
    ),
}

impl PgConn {
    fn client(&mut self) -> &mut postgres::Client {
        match self {
            PgConn::Plain(c) => c,
            PgConn::Tls(c) => c,
        }
    }
}

/// The rustls client configuration for `sslmode=require`.
fn pg_tls(ca: Option<&Path>) -> Result<rustls::ClientConfig, StoreError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect())
                .map_err(|err| StoreError::Tls(format!("cannot read {}: {err}", path.display())))?;
            for cert in certs {
                roots.add(cert).map_err(|err| {
                    StoreError::Tls(format!("bad certificate in {}: {err}", path.display()))
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| StoreError::Tls(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A database connection, held for one store call.
pub(crate) enum Db<'a> {
    Sqlite(MutexGuard<'a, rusqlite::Connection>),
    Postgres(Box<PgConn>),
}

/// A write transaction: serialised with every other one (see the module
/// doc); rolled back when dropped without [`Tx::commit`].
pub(crate) enum Tx<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Postgres(postgres::Transaction<'a>),
}

/// How hard a transaction's commit is pushed to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// SQLite `synchronous=FULL`: the WAL is fsynced at commit; PostgreSQL's
    /// default `synchronous_commit=on`. Every transaction that issues a case
    /// number (or deletes data) commits this way.
    Full,
    /// SQLite `synchronous=NORMAL` (no fsync at commit; WAL mode keeps the
    /// database consistent, a power cut may lose the last such commits);
    /// PostgreSQL `synchronous_commit=off` in the transaction (the same
    /// promise). For staged pages and heartbeats, which a terminal simply
    /// sends again. The next full commit carries them along.
    Staging,
}

impl Db<'_> {
    /// Sets the durability of the statements that follow outside a
    /// transaction (SQLite; PostgreSQL commits those fully).
    pub(crate) fn durability(&mut self, d: Durability) -> Result<(), StoreError> {
        if let Db::Sqlite(conn) = self {
            let level = match d {
                Durability::Full => "FULL",
                Durability::Staging => "NORMAL",
            };
            conn.pragma_update(None, "synchronous", level)?;
        }
        Ok(())
    }

    /// Begins a write transaction with durability `d`, holding the
    /// database's write lock (SQLite) or [`WRITE_LOCK`] (PostgreSQL).
    pub(crate) fn begin(&mut self, d: Durability) -> Result<Tx<'_>, StoreError> {
        self.durability(d)?;
        match self {
            Db::Sqlite(conn) => Ok(Tx::Sqlite(
                conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?,
            )),
            Db::Postgres(conn) => {
                let mut tx = conn.client().transaction()?;
                let staging = if d == Durability::Staging {
                    "SET LOCAL synchronous_commit TO OFF;"
                } else {
                    ""
                };
                tx.batch_execute(&format!(
                    "{staging} SELECT pg_advisory_xact_lock({WRITE_LOCK})"
                ))?;
                Ok(Tx::Postgres(tx))
            }
        }
    }
}

impl Tx<'_> {
    pub(crate) fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.commit()?),
            Tx::Postgres(tx) => Ok(tx.commit()?),
        }
    }

    /// The schema version recorded in the database.
    fn schema_version(&mut self) -> Result<i64, StoreError> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.query_row("PRAGMA user_version", [], |row| row.get(0))?),
            Tx::Postgres(_) => Ok(self
                .query_row(
                    "SELECT MAX(version) FROM schema_version",
                    params![],
                    |row| row.get::<_, Option<i64>>(0),
                )?
                .unwrap_or(0)),
        }
    }

    fn set_schema_version(&mut self, version: i64) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.pragma_update(None, "user_version", version)?),
            Tx::Postgres(_) => {
                self.execute("DELETE FROM schema_version", params![])?;
                self.execute(
                    "INSERT INTO schema_version (version) VALUES (?1)",
                    params![version],
                )?;
                Ok(())
            }
        }
    }
}

impl Sql for Db<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        match self {
            Db::Sqlite(c) => sqlite_execute(c, sql, params),
            Db::Postgres(c) => Sql::execute(c.client(), sql, params),
        }
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        match self {
            Db::Sqlite(c) => sqlite_query(c, sql, params),
            Db::Postgres(c) => Sql::query(c.client(), sql, params),
        }
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Db::Postgres(c) => Sql::batch(c.client(), sql),
        }
    }
}

impl Sql for Tx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        match self {
            Tx::Sqlite(tx) => sqlite_execute(tx, sql, params),
            Tx::Postgres(tx) => Sql::execute(tx, sql, params),
        }
    }
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        match self {
            Tx::Sqlite(tx) => sqlite_query(tx, sql, params),
            Tx::Postgres(tx) => Sql::query(tx, sql, params),
        }
    }
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            Tx::Postgres(tx) => Sql::batch(tx, sql),
        }
    }
}

/// The open database: one SQLite connection, or a PostgreSQL pool.
pub(crate) enum Backend {
    Sqlite(Mutex<rusqlite::Connection>),
    Postgres(Option<PgPool>),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite(_) => "Backend::Sqlite",
            Backend::Postgres(_) => "Backend::Postgres",
        })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // The synchronous client closes its connection on a runtime of its
        // own, which cannot run on a thread driving async tasks (the
        // registry's last reference may go there): drop the pool on a
        // thread of its own.
        if let Backend::Postgres(pool) = self {
            if let Some(pool) = pool.take() {
                let _ = std::thread::spawn(move || drop(pool)).join();
            }
        }
    }
}

impl Backend {
    /// Opens the database and brings its schema up to date; returns the
    /// version found before.
    pub(crate) fn open(db: &Database) -> Result<(Backend, i64), StoreError> {
        let backend = match db {
            Database::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).map_err(StoreError::Open)?;
                Backend::sqlite(conn)?
            }
            Database::Postgres { url, tls_ca } => {
                let config: postgres::Config = url
                    .parse()
                    .map_err(|err| StoreError::OpenPostgres(Box::new(err)))?;
                fn builder<M: r2d2::ManageConnection>() -> r2d2::Builder<M> {
                    r2d2::Pool::builder()
                        .max_size(PG_POOL_SIZE)
                        .min_idle(Some(1))
                        .connection_timeout(Duration::from_secs(30))
                }
                let pool = if config.get_ssl_mode() == postgres::config::SslMode::Require {
                    let tls =
                        tokio_postgres_rustls::MakeRustlsConnect::new(pg_tls(tls_ca.as_deref())?);
                    PgPool::Tls(
                        builder()
                            .build(PostgresConnectionManager::new(config, tls))
                            .map_err(|err| StoreError::OpenPostgres(Box::new(err)))?,
                    )
                } else {
                    PgPool::Plain(
                        builder()
                            .build(PostgresConnectionManager::new(config, postgres::NoTls))
                            .map_err(|err| StoreError::OpenPostgres(Box::new(err)))?,
                    )
                };
                Backend::Postgres(Some(pool))
            }
        };
        let found = backend.migrate()?;
        Ok((backend, found))
    }

    /// A SQLite connection, set up: WAL, busy timeout, foreign keys.
    pub(crate) fn sqlite(conn: rusqlite::Connection) -> Result<Backend, StoreError> {
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(StoreError::Open)?;
        // `journal_mode` answers with the resulting mode, so it is read as a query.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(StoreError::Open)?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(StoreError::Open)?;
        Ok(Backend::Sqlite(Mutex::new(conn)))
    }

    /// A connection for one store call.
    pub(crate) fn db(&self) -> Result<Db<'_>, StoreError> {
        match self {
            // A panic while holding the lock cannot leave a half-written
            // transaction behind (it is rolled back on drop), so poison is ignored.
            Backend::Sqlite(conn) => Ok(Db::Sqlite(
                conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            )),
            Backend::Postgres(Some(PgPool::Plain(pool))) => Ok(Db::Postgres(Box::new(
                PgConn::Plain(pool.get().map_err(StoreError::Pool)?),
            ))),
            Backend::Postgres(Some(PgPool::Tls(pool))) => Ok(Db::Postgres(Box::new(PgConn::Tls(
                pool.get().map_err(StoreError::Pool)?,
            )))),
            Backend::Postgres(None) => Err(StoreError::Closed),
        }
    }

    /// Brings the schema up to the newest version, one transaction per
    /// step; returns the version found before.
    pub(crate) fn migrate(&self) -> Result<i64, StoreError> {
        let mut db = self.db()?;
        let known = super::MIGRATIONS.len() as i64;
        let postgres = matches!(db, Db::Postgres(_));
        if postgres {
            db.batch("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
                .or_else(|err| {
                    // Two registries creating it at once: one wins.
                    log::debug!("schema_version: {err}");
                    Ok::<(), StoreError>(())
                })?;
        }
        let found = db.begin(Durability::Full)?.schema_version()?;
        if found > known {
            return Err(StoreError::SchemaTooNew { found, known });
        }
        for (idx, sql) in super::MIGRATIONS.iter().enumerate() {
            let version = idx as i64 + 1;
            let mut tx = db.begin(Durability::Full)?;
            // Another registry on the same database may have run it meanwhile.
            if tx.schema_version()? >= version {
                continue;
            }
            if postgres {
                tx.batch(&pg_ddl(sql))?;
            } else {
                tx.batch(sql)?;
            }
            tx.set_schema_version(version)?;
            tx.commit()?;
            log::info!("database migrated to schema version {version}");
        }
        Ok(found)
    }
}
