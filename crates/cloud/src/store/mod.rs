//! berth's state: every AWS resource in one SQLite database under the data dir.
//!
//! # Schema
//! One table, `resources`, holds every resource of every service as a JSON document of its typed
//! Rust struct, keyed by `(kind, region, id)`:
//! - `kind` names the service and type (`iam:role`, `ec2:vpc`, `ecs:service`);
//! - `region` is the region the resource lives in, `""` for global ones (IAM);
//! - `id` is its natural key (a role name, `vpc-…`, a service ARN);
//! - `parent` and `name` are optional indexed columns for "children of" and "by name" lookups.
//!
//! A new resource type therefore needs no migration: it implements [`Resource`] and is stored.
//! `rowid` keeps creation order, which List/Describe calls return.
//!
//! # Invariants
//! - Every API call runs in exactly one transaction ([`Store::transaction`]): it commits when the
//!   operation succeeds and rolls back when it returns an error, so a call never half-happens.
//! - Transactions are serialized by one connection behind a `std::sync::Mutex` (no `.await` happens
//!   while it is held; callers run on a blocking thread). SQLite runs in WAL mode with
//!   `synchronous=NORMAL`: a commit survives berth being killed at any point.
//! - After a commit that wrote something, the change counter published by
//!   [`Store::subscribe`] increases, which wakes the reconcilers.

mod schema;

use std::cell::Cell;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

/// Whether a resource type lives in a region or is global (IAM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Regional,
    Global,
}

/// A type stored in the `resources` table.
pub trait Resource: Serialize + DeserializeOwned {
    /// `service:type`, e.g. `ec2:subnet`.
    const KIND: &'static str;
    const SCOPE: Scope = Scope::Regional;

    /// The natural primary key.
    fn id(&self) -> &str;
    /// The resource this one belongs to (a subnet's VPC, a service's cluster), for lookups.
    fn parent(&self) -> Option<&str> {
        None
    }
    /// A name AWS lets callers look the resource up by.
    fn name(&self) -> Option<&str> {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored {kind} {id} does not decode: {source}")]
    Corrupt { kind: &'static str, id: String, source: serde_json::Error },
    #[error("could not encode {kind}: {source}")]
    Encode { kind: &'static str, source: serde_json::Error },
    #[error("opening {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("the store's lock was poisoned by a panic")]
    Poisoned,
    #[error("database schema version {found} is newer than this berth understands ({supported})")]
    TooNew { found: i64, supported: i64 },
}

pub struct Store {
    conn: Mutex<Connection>,
    changes: watch::Sender<u64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)
            .map_err(|source| StoreError::Open { path: path.display().to_string(), source })?;
        Self::with_connection(conn)
    }

    /// An in-memory store, for unit tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        let (changes, _) = watch::channel(0);
        Ok(Self { conn: Mutex::new(conn), changes })
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    ///
    /// Blocking: call it from a blocking thread, never while holding an async lock.
    pub fn transaction<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.conn.lock().map_err(|_| StoreError::Poisoned)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let wrapped = Tx { tx, wrote: Cell::new(false) };
        let out = f(&wrapped)?;
        let wrote = wrapped.wrote.get();
        wrapped.tx.commit().map_err(StoreError::from)?;
        if wrote {
            self.changes.send_modify(|n| *n += 1);
        }
        Ok(out)
    }

    /// A receiver whose value increases after every committed write.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// An open transaction with typed access to resources.
pub struct Tx<'c> {
    tx: rusqlite::Transaction<'c>,
    wrote: Cell<bool>,
}

fn region_of<R: Resource>(region: &str) -> &str {
    match R::SCOPE {
        Scope::Regional => region,
        Scope::Global => "",
    }
}

fn decode<R: Resource>(id: &str, body: &str) -> Result<R, StoreError> {
    serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
        kind: R::KIND,
        id: id.to_string(),
        source,
    })
}

impl Tx<'_> {
    /// The resource with this id, if it exists.
    pub fn get<R: Resource>(&self, region: &str, id: &str) -> Result<Option<R>, StoreError> {
        let body: Option<String> = self
            .tx
            .query_row(
                "SELECT body FROM resources WHERE kind = ?1 AND region = ?2 AND id = ?3",
                params![R::KIND, region_of::<R>(region), id],
                |row| row.get(0),
            )
            .optional()?;
        body.map(|b| decode::<R>(id, &b)).transpose()
    }

    /// Inserts or replaces a resource (keeping its creation order when it already existed).
    pub fn put<R: Resource>(&self, region: &str, resource: &R) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(resource).map_err(|source| StoreError::Encode { kind: R::KIND, source })?;
        self.tx.execute(
            "INSERT INTO resources (kind, region, id, parent, name, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (kind, region, id) DO UPDATE SET parent = excluded.parent, name = excluded.name,
               body = excluded.body, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            params![R::KIND, region_of::<R>(region), resource.id(), resource.parent(), resource.name(), body],
        )?;
        self.wrote.set(true);
        Ok(())
    }

    /// Deletes a resource; returns whether it existed.
    pub fn delete<R: Resource>(&self, region: &str, id: &str) -> Result<bool, StoreError> {
        let n = self.tx.execute(
            "DELETE FROM resources WHERE kind = ?1 AND region = ?2 AND id = ?3",
            params![R::KIND, region_of::<R>(region), id],
        )?;
        if n > 0 {
            self.wrote.set(true);
        }
        Ok(n > 0)
    }

    /// Every resource of this kind in the region, in creation order.
    pub fn list<R: Resource>(&self, region: &str) -> Result<Vec<R>, StoreError> {
        self.query(
            "SELECT id, body FROM resources WHERE kind = ?1 AND region = ?2 ORDER BY rowid",
            params![R::KIND, region_of::<R>(region)],
        )
    }

    /// Every resource of this kind whose parent is `parent`, in creation order.
    pub fn children<R: Resource>(&self, region: &str, parent: &str) -> Result<Vec<R>, StoreError> {
        self.query(
            "SELECT id, body FROM resources WHERE kind = ?1 AND region = ?2 AND parent = ?3 ORDER BY rowid",
            params![R::KIND, region_of::<R>(region), parent],
        )
    }

    /// The resources of this kind with this name (usually zero or one), in creation order.
    pub fn by_name<R: Resource>(&self, region: &str, name: &str) -> Result<Vec<R>, StoreError> {
        self.query(
            "SELECT id, body FROM resources WHERE kind = ?1 AND region = ?2 AND name = ?3 ORDER BY rowid",
            params![R::KIND, region_of::<R>(region), name],
        )
    }

    /// Every resource of this kind in every region, with its region (for reconcilers).
    pub fn list_all_regions<R: Resource>(&self) -> Result<Vec<(String, R)>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT region, id, body FROM resources WHERE kind = ?1 ORDER BY rowid")?;
        let rows = stmt.query_map(params![R::KIND], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (region, id, body) = row?;
            out.push((region, decode::<R>(&id, &body)?));
        }
        Ok(out)
    }

    fn query<R: Resource>(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<R>, StoreError> {
        let mut stmt = self.tx.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body) = row?;
            out.push(decode::<R>(&id, &body)?);
        }
        Ok(out)
    }

    /// Reads a counter kept in the `meta` table (0 when unset).
    pub fn counter(&self, key: &str) -> Result<i64, StoreError> {
        let v: Option<String> = self
            .tx
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |row| row.get(0))
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Increments a counter in the `meta` table and returns its new value (starting at 1).
    pub fn next_counter(&self, key: &str) -> Result<i64, StoreError> {
        let next = self.counter(key)? + 1;
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, next.to_string()],
        )?;
        self.wrote.set(true);
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Thing {
        id: String,
        parent: Option<String>,
        n: u32,
    }

    impl Resource for Thing {
        const KIND: &'static str = "test:thing";
        fn id(&self) -> &str {
            &self.id
        }
        fn parent(&self) -> Option<&str> {
            self.parent.as_deref()
        }
    }

    fn thing(id: &str, parent: Option<&str>, n: u32) -> Thing {
        Thing { id: id.into(), parent: parent.map(Into::into), n }
    }

    #[test]
    fn put_get_list_delete_roundtrip() {
        let store = Store::in_memory().unwrap();
        store
            .transaction(|tx| {
                tx.put("us-east-1", &thing("b", Some("p"), 1))?;
                tx.put("us-east-1", &thing("a", None, 2))?;
                tx.put("eu-west-1", &thing("a", None, 3))?;
                tx.put("us-east-1", &thing("b", Some("p"), 4))?; // update keeps order
                Ok::<_, StoreError>(())
            })
            .unwrap();
        store
            .transaction(|tx| {
                let all: Vec<Thing> = tx.list("us-east-1")?;
                assert_eq!(all, vec![thing("b", Some("p"), 4), thing("a", None, 2)]);
                assert_eq!(tx.children::<Thing>("us-east-1", "p")?.len(), 1);
                assert_eq!(tx.get::<Thing>("eu-west-1", "a")?.map(|t| t.n), Some(3));
                assert!(tx.delete::<Thing>("us-east-1", "a")?);
                assert!(!tx.delete::<Thing>("us-east-1", "a")?);
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[derive(Debug)]
    struct Refused;
    impl From<StoreError> for Refused {
        fn from(_: StoreError) -> Self {
            Refused
        }
    }

    #[test]
    fn an_error_rolls_the_whole_call_back_and_does_not_notify() {
        let store = Store::in_memory().unwrap();
        let changes = store.subscribe();
        let r: Result<(), Refused> = store.transaction(|tx| {
            tx.put("r", &thing("x", None, 1))?;
            Err(Refused)
        });
        assert!(r.is_err());
        let n = store.transaction(|tx| tx.list::<Thing>("r").map(|v| v.len())).unwrap();
        assert_eq!(n, 0);
        assert_eq!(*changes.borrow(), 0);
        store.transaction(|tx| tx.put("r", &thing("x", None, 1))).unwrap();
        assert_eq!(*changes.borrow(), 1);
    }

    #[test]
    fn state_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        {
            let store = Store::open(&path).unwrap();
            store.transaction(|tx| tx.put("r", &thing("kept", None, 7))).unwrap();
            store.transaction(|tx| tx.next_counter("c").map(|_| ())).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let got = store.transaction(|tx| tx.get::<Thing>("r", "kept")).unwrap();
        assert_eq!(got, Some(thing("kept", None, 7)));
        assert_eq!(store.transaction(|tx| tx.next_counter("c")).unwrap(), 2);
    }
}
