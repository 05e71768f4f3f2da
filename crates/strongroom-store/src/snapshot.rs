//! The whole database as rows, for backups (`docs/formats/backup-v1.md` §4): read in one
//! consistent snapshot while the server goes on, written as one JSON object per row, and
//! loaded into a fresh database of either engine. Logical rather than a copy of database
//! files, so that a backup of SQLite restores onto PostgreSQL and back.

use crate::db::{Backend, Db};
use crate::error::{Result, StoreError};
use futures::TryStreamExt;
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, BTreeSet};

/// Not dumped: the migrator's own tables (the restored database has its own) and what is
/// derived from the rest (`audit_hours`, rebuilt by [`crate::audit::rebuild_hours`]).
const NOT_DUMPED: &[&str] = &["_sqlx_migrations", "schema_migrations", "audit_hours"];

/// Tables whose rows point at rows of the same table, dumped parents first: (table, key
/// column, parent column). A test checks that no other table points at itself.
const PARENTS_FIRST: &[(&str, &str, &str)] = &[("folders", "id", "parent_id")];

/// Rows per transaction when loading.
const LOAD_BATCH: usize = 1000;

/// The two kinds of column Strongroom's schema uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
}

/// A table and its columns, in their order in the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, Kind)>,
}

/// The tables of the schema, each after those its foreign keys point to (ties by name).
pub async fn tables(conn: &mut AnyConnection, backend: Backend) -> Result<Vec<Table>> {
    let names: Vec<String> = match backend {
        Backend::Sqlite => {
            sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                .fetch_all(&mut *conn)
                .await?
        }
        Backend::Postgres => {
            sqlx::query(
                "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            )
            .fetch_all(&mut *conn)
            .await?
        }
    }
    .iter()
    .map(|r| r.try_get("name"))
    .collect::<std::result::Result<_, _>>()?;
    let names: BTreeSet<String> = names
        .into_iter()
        .filter(|n| !NOT_DUMPED.contains(&n.as_str()))
        .collect();
    let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in foreign_keys(conn, backend).await? {
        if from != to && names.contains(&from) && names.contains(&to) {
            refs.entry(from).or_default().insert(to);
        }
    }
    // Kahn's order over the names, smallest ready name first: the same order on both engines.
    let mut done: Vec<String> = Vec::new();
    let mut left = names;
    while !left.is_empty() {
        let ready = left
            .iter()
            .find(|t| refs.get(*t).is_none_or(|r| r.iter().all(|p| done.contains(p))))
            .cloned()
            .ok_or_else(|| StoreError::Corrupt("the tables' foreign keys form a cycle".into()))?;
        left.remove(&ready);
        done.push(ready);
    }
    let mut out = Vec::new();
    for name in done {
        let columns = columns(conn, backend, &name).await?;
        out.push(Table { name, columns });
    }
    Ok(out)
}

/// (table, table it points to) for every foreign key.
async fn foreign_keys(conn: &mut AnyConnection, backend: Backend) -> Result<Vec<(String, String)>> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT m.name AS from_t, f.\"table\" AS to_t FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table'"
        }
        Backend::Postgres => {
            "SELECT CAST(tc.table_name AS TEXT) AS from_t, CAST(ccu.table_name AS TEXT) AS to_t FROM information_schema.table_constraints tc \
             JOIN information_schema.constraint_column_usage ccu \
             ON tc.constraint_name = ccu.constraint_name AND tc.table_schema = ccu.table_schema \
             WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()"
        }
    };
    sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("from_t")?, r.try_get("to_t")?)))
        .collect()
}

async fn columns(conn: &mut AnyConnection, backend: Backend, table: &str) -> Result<Vec<(String, Kind)>> {
    let rows = match backend {
        Backend::Sqlite => {
            sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                .bind(table.to_string())
                .fetch_all(&mut *conn)
                .await?
        }
        Backend::Postgres => sqlx::query(
            "SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS type FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table.to_string())
        .fetch_all(&mut *conn)
        .await?,
    };
    rows.iter()
        .map(|r| {
            let name: String = r.try_get("name")?;
            let ty: String = r.try_get("type")?;
            let kind = match ty.to_ascii_lowercase().as_str() {
                "bigint" | "integer" => Kind::Int,
                "text" => Kind::Text,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "column {table}.{name} is of type {other}, which backups do not know"
                    )));
                }
            };
            Ok((name, kind))
        })
        .collect()
}

/// Whether `name` is a plain identifier of ours (tables and columns are interpolated into SQL
/// from the database's own catalogue; this keeps it so).
fn identifier(name: &str) -> Result<&str> {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(name)
    } else {
        Err(StoreError::Corrupt(format!("unexpected name in the schema: {name:?}")))
    }
}

/// A consistent view of the whole database: every read through it sees the same moment,
/// whatever is written meanwhile. Dropped, it ends (nothing was written through it).
pub struct Snapshot {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
}

impl Snapshot {
    /// Begins the snapshot (SQLite: a read transaction on the WAL; PostgreSQL: repeatable
    /// read, read only). It holds from its first read, taken here.
    pub async fn begin(db: &Db) -> Result<Snapshot> {
        let mut tx = db.read.begin().await?;
        if db.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("SELECT COUNT(*) AS n FROM audit_chain")
            .fetch_one(&mut *tx)
            .await?;
        Ok(Snapshot {
            tx,
            backend: db.backend,
        })
    }

    /// The tables to dump, in restore order.
    pub async fn tables(&mut self) -> Result<Vec<Table>> {
        tables(&mut self.tx, self.backend).await
    }

    /// Writes every row of `table` to `out`, one JSON object per line (columns in table
    /// order); returns how many rows.
    pub async fn dump(&mut self, table: &Table, out: &mut impl std::io::Write) -> Result<u64> {
        let name = identifier(&table.name)?;
        let cols = table
            .columns
            .iter()
            .map(|(c, _)| identifier(c).map(|c| format!("t.{c}")))
            .collect::<Result<Vec<_>>>()?
            .join(", ");
        let sql = match PARENTS_FIRST.iter().find(|(t, _, _)| *t == name) {
            Some((_, key, parent)) => format!(
                "WITH RECURSIVE d (k, depth) AS (SELECT {key}, 0 FROM {name} WHERE {parent} IS NULL \
                 UNION ALL SELECT c.{key}, d.depth + 1 FROM {name} c JOIN d ON c.{parent} = d.k) \
                 SELECT {cols} FROM {name} t JOIN d ON d.k = t.{key} ORDER BY d.depth, t.{key}"
            ),
            None => format!("SELECT {cols} FROM {name} t ORDER BY 1"),
        };
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *self.tx);
        let mut n = 0u64;
        while let Some(row) = rows.try_next().await? {
            let mut obj = serde_json::Map::new();
            for (i, (c, kind)) in table.columns.iter().enumerate() {
                let v = match kind {
                    Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(serde_json::Value::from),
                    Kind::Text => row.try_get::<Option<String>, _>(i)?.map(serde_json::Value::from),
                };
                obj.insert(c.clone(), v.unwrap_or(serde_json::Value::Null));
            }
            serde_json::to_writer(&mut *out, &obj).map_err(|e| StoreError::Invalid(e.to_string()))?;
            out.write_all(b"\n")?;
            n += 1;
        }
        drop(rows);
        if PARENTS_FIRST.iter().any(|(t, _, _)| *t == name) {
            let total: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {name}")))
                .fetch_one(&mut *self.tx)
                .await?
                .try_get("n")?;
            if u64::try_from(total).ok() != Some(n) {
                return Err(StoreError::Corrupt(format!(
                    "{name}: {total} rows but only {n} reach a root: the parents form a cycle"
                )));
            }
        }
        Ok(n)
    }
}

/// Loads the rows of `table` from `lines` (as [`Snapshot::dump`] wrote them) into a fresh
/// database whose schema has the table. A row with a column the table lacks, or a value of
/// the wrong kind, is refused, naming the line.
pub async fn load(db: &Db, table: &str, lines: impl std::io::BufRead) -> Result<u64> {
    let mut conn = db.pool.acquire().await?;
    let schema = tables(&mut conn, db.backend).await?;
    let t = schema
        .iter()
        .find(|t| t.name == table)
        .ok_or_else(|| StoreError::Invalid(format!("the backup has a table {table:?} this release does not know")))?;
    let name = identifier(&t.name)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let mut n = 0u64;
    for (i, line) in lines.lines().enumerate() {
        let line = line?;
        let bad = |why: String| StoreError::Invalid(format!("{table}, row {}: {why}", i + 1));
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if let Some(extra) = obj.keys().find(|k| !t.columns.iter().any(|(c, _)| c == *k)) {
            return Err(bad(format!("column {extra:?} is not in the table")));
        }
        let present: Vec<&(String, Kind)> = t.columns.iter().filter(|(c, _)| obj.contains_key(c)).collect();
        let cols = present
            .iter()
            .map(|(c, _)| identifier(c))
            .collect::<Result<Vec<_>>>()?
            .join(", ");
        let marks = (1..=present.len())
            .map(|k| format!("${k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {name} ({cols}) VALUES ({marks})"
        )));
        for (c, kind) in &present {
            let v = &obj[c.as_str()];
            q = match (kind, v) {
                (Kind::Int, serde_json::Value::Null) => q.bind(None::<i64>),
                (Kind::Text, serde_json::Value::Null) => q.bind(None::<String>),
                (Kind::Int, serde_json::Value::Number(x)) if x.is_i64() => q.bind(x.as_i64()),
                (Kind::Text, serde_json::Value::String(s)) => q.bind(s.clone()),
                _ => return Err(bad(format!("{c} is not a {kind:?}: {v}"))),
            };
        }
        q.execute(&mut *tx).await?;
        n += 1;
        if n.is_multiple_of(LOAD_BATCH as u64) {
            tx.commit().await?;
            tx = sqlx::Connection::begin(&mut *conn).await?;
        }
    }
    tx.commit().await?;
    Ok(n)
}

/// Makes a freshly migrated database ready to load a backup into: refused if anyone has
/// used it (a person, an audit event), then the rows its migrations wrote themselves (the
/// audit chain's head, default settings) are removed, to be replaced by the backup's.
pub async fn prepare_fresh(db: &Db) -> Result<()> {
    let mut conn = db.pool.acquire().await?;
    for table in ["users", "audit_events"] {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
        if n > 0 {
            return Err(StoreError::Conflict(format!(
                "the database is not empty ({n} rows in {table}): restore into a new database"
            )));
        }
    }
    let schema = tables(&mut conn, db.backend).await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for t in schema.iter().rev() {
        let name = identifier(&t.name)?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {name}")))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::identifier;

    #[test]
    fn only_plain_names_reach_sql() {
        assert!(identifier("audit_events").is_ok());
        for bad in ["", "a b", "x;DROP", "Users", "t\"", "é"] {
            assert!(identifier(bad).is_err(), "{bad:?}");
        }
    }
}
