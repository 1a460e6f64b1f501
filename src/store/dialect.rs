//! What differs between SQLite and PostgreSQL, and only that: the [`Dialect`] hooks each backend
//! implements, and the column newtypes whose encoding follows them. The store body
//! ([`Backend`](super::backend::Backend) and the queries in `submissions.rs`, `datasets.rs`,
//! `jobs.rs` and `timeline.rs`) is written once against these.
//!
//! Most SQL reads the same on both dialects, so it is written once: `$1` placeholders (sqlx's
//! SQLite driver binds `$N` to the N-th argument), `on conflict … do nothing / do update` and
//! `is not distinct from` (SQLite 3.39+; the bundled library is newer) are common to both. What
//! is not common is a hook here, so that a new difference has one place to go.
//!
//! The generic body still names the plain value types it binds and reads (`String`, `i64`, …)
//! in a `where` clause on each `impl` block: Rust carries a trait's supertraits to its users
//! but not its other `where` clauses, so they cannot be stated once on [`Dialect`].

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::types::Json;
use sqlx::{Database, Decode, Encode, IntoArguments, Type};
use time::OffsetDateTime;

/// The hooks of one database. Implemented for [`sqlx::Sqlite`] in `sqlite.rs` and
/// [`sqlx::Postgres`] in `postgres.rs`.
pub trait Dialect: Database<Arguments: IntoArguments<Self>, Connection: Migrate> {
    /// The backend's name in errors, `Store::backend` and `verdict db stats`.
    const BACKEND: &'static str;

    /// The embedded migrations of this backend (`migrations/<backend>`).
    const MIGRATOR: Migrator;

    /// The bucket index of a submission on a run's timeline: the milliseconds from `$2` (the
    /// run's first millisecond) to its `created_at`, divided by `$3` (the bucket width) and
    /// rounded down. The only date arithmetic the store does in SQL.
    const BUCKET_INDEX: &'static str;

    /// How a timestamp is stored: integer milliseconds since the epoch on SQLite,
    /// `timestamptz` on PostgreSQL. [`Timestamp`] converts through it.
    type Stamp: Codec<Self>;

    fn stamp(at: OffsetDateTime) -> Self::Stamp;

    fn unstamp(stored: Self::Stamp) -> OffsetDateTime;

    /// `text` as this database can hold it; [`FreeText`] and [`JsonDoc`] store text through it.
    /// Stored as sent unless the database refuses some of it.
    fn clean(text: &str) -> Cow<'_, str> {
        Cow::Borrowed(text)
    }

    /// How many rows an `insert`, `update` or `delete` touched (sqlx has no common accessor).
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

/// A value the store both binds and reads on `DB`: the bound the generic body states for each
/// plain value type it uses.
pub trait Codec<DB: Database>: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

impl<DB: Database, T> Codec<DB> for T where T: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB> {}

/// A point in time, stored as the dialect's [`Dialect::Stamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub OffsetDateTime);

impl<DB: Dialect> Type<DB> for Timestamp {
    fn type_info() -> DB::TypeInfo {
        <DB::Stamp as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <DB::Stamp as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Dialect> Encode<'q, DB> for Timestamp {
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <DB::Stamp as Encode<'q, DB>>::encode(DB::stamp(self.0), buf)
    }
}

impl<'r, DB: Dialect> Decode<'r, DB> for Timestamp {
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(DB::unstamp(<DB::Stamp as Decode<'r, DB>>::decode(value)?)))
    }
}

/// Text that came from a caller (a completion, a prompt, an id it chose), possibly NULL, stored
/// through [`Dialect::clean`]. Text the service makes itself (verdicts, versions, its own ids)
/// is bound as it is.
#[derive(Debug, Clone, Copy)]
pub struct FreeText<'a>(pub Option<&'a str>);

impl<'a> From<&'a String> for FreeText<'a> {
    fn from(text: &'a String) -> Self {
        Self(Some(text))
    }
}

impl<'a> From<&'a Option<String>> for FreeText<'a> {
    fn from(text: &'a Option<String>) -> Self {
        Self(text.as_deref())
    }
}

impl<DB: Dialect> Type<DB> for FreeText<'_>
where
    String: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Dialect> Encode<'q, DB> for FreeText<'_>
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        match self.0 {
            Some(text) => <String as Encode<'q, DB>>::encode(DB::clean(text).into_owned(), buf),
            None => Ok(IsNull::Yes),
        }
    }
}

/// A JSON document to store (a task, reward components, entry metadata): text on SQLite,
/// `jsonb` on PostgreSQL (sqlx's [`Json`] does that part), with every string and key passed
/// through [`Dialect::clean`]. Documents are read back with [`Json`] itself.
#[derive(Debug, Clone, Copy)]
pub struct JsonDoc<T>(pub T);

impl<DB: Dialect, T> Type<DB> for JsonDoc<T>
where
    Json<Value>: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Json<Value> as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Json<Value> as Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: Dialect, T: Serialize> Encode<'q, DB> for JsonDoc<T>
where
    Json<Value>: Encode<'q, DB>,
{
    fn encode_by_ref(&self, buf: &mut DB::ArgumentBuffer) -> Result<IsNull, BoxDynError> {
        let mut value = serde_json::to_value(&self.0)?;
        clean_json::<DB>(&mut value);
        <Json<Value> as Encode<'q, DB>>::encode(Json(value), buf)
    }
}

/// Cleans every string and object key of `value` in place; a document with nothing to clean
/// is left untouched.
fn clean_json<DB: Dialect>(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(cleaned) = DB::clean(text) {
                *text = cleaned;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_json::<DB>),
        Value::Object(map) => {
            if map.keys().any(|key| matches!(DB::clean(key), Cow::Owned(_))) {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(key, value)| (DB::clean(&key).into_owned(), value))
                    .collect();
            }
            map.values_mut().for_each(clean_json::<DB>);
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use serde_json::json;
    use sqlx::{Postgres, Sqlite};

    use super::*;
    use crate::store::{DatasetVersion, Registered, Store, StoredEntry, Submission, new_id, now_ms};

    #[test]
    fn postgres_cleans_every_string_and_key_of_a_document_and_sqlite_none() {
        let sent = json!({"a\0": ["x\0y", {"k": "\0"}], "n": 12345678901234567890_u64, "ok": "plain"});
        let mut on_postgres = sent.clone();
        clean_json::<Postgres>(&mut on_postgres);
        assert_eq!(
            on_postgres,
            json!({"a\u{FFFD}": ["x\u{FFFD}y", {"k": "\u{FFFD}"}], "n": 12345678901234567890_u64, "ok": "plain"})
        );
        let mut on_sqlite = sent.clone();
        clean_json::<Sqlite>(&mut on_sqlite);
        assert_eq!(on_sqlite, sent);
    }

    #[test]
    fn text_without_nul_is_borrowed_not_copied() {
        assert!(matches!(Postgres::clean("plain"), Cow::Borrowed("plain")));
        assert_eq!(Postgres::clean("a\0b"), "a\u{FFFD}b");
        assert!(matches!(Sqlite::clean("a\0b"), Cow::Borrowed("a\0b")));
    }

    #[test]
    fn sqlite_stamps_are_whole_milliseconds_since_the_epoch() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(Sqlite::stamp(at), 1_700_000_000_123);
        assert_eq!(
            Sqlite::unstamp(1_700_000_000_123),
            OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_000_000).unwrap()
        );
    }

    fn submission(completion: &str, task: Value) -> Submission {
        Submission {
            submission_id: new_id(),
            run_id: Some("run\0".into()),
            item_id: Some("item".into()),
            policy: "r1".into(),
            policy_version: "r1@0".into(),
            kind: "math".into(),
            task,
            prompt: Some("prompt\0".into()),
            completion: completion.into(),
            extracted: None,
            verdict: "correct".into(),
            format_ok: true,
            reward: 1.0,
            components: json!({"accuracy": 1.0}),
            details: json!({"note\0": "x"}),
            elapsed_ms: 0.5,
            service_version: "test".into(),
            created_at: now_ms(),
            entry: None,
            group_id: Some("g".into()),
            truncated: true,
            completion_tokens: Some(7),
        }
    }

    async fn sqlite() -> Store {
        let store = Store::connect("sqlite::memory:", Duration::from_secs(5))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// A fresh database in the server `scripts/with-postgres.sh` starts; `None` only when
    /// `VERDICT_TEST_SKIP_POSTGRES=1` says to skip. A missing URL is a failure, never a skip.
    async fn postgres() -> Option<Store> {
        use sqlx::Connection;
        let admin_url = match std::env::var("VERDICT_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("VERDICT_TEST_SKIP_POSTGRES").as_deref() == Ok("1") => return None,
            _ => panic!(
                "the PostgreSQL tests need a server: run `scripts/with-postgres.sh cargo test`, or set \
                 VERDICT_TEST_SKIP_POSTGRES=1 to skip them on purpose"
            ),
        };
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        let name = format!("verdict_store_{}", new_id().to_lowercase());
        // The name is ours (letters and digits), not input.
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let url = if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        };
        let store = Store::connect(&url, Duration::from_secs(5)).await.unwrap();
        store.migrate().await.unwrap();
        Some(store)
    }

    /// What a caller's text reads back as: as sent on SQLite, U+0000 as U+FFFD on PostgreSQL.
    fn held(store: &Store, text: &str) -> String {
        match store {
            Store::Sqlite(_) => text.to_owned(),
            Store::Postgres(_) => text.replace('\0', "\u{FFFD}"),
        }
    }

    async fn caller_text_and_documents_read_back_as_the_database_holds_them(store: Store) {
        let sent = submission("\\boxed{1}\0", json!({"kind": "math", "answer": "1\0"}));
        assert_eq!(
            store
                .insert_submissions(std::slice::from_ref(&sent))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .insert_submissions(std::slice::from_ref(&sent))
                .await
                .unwrap(),
            0
        );

        let read = store.submission(&sent.submission_id).await.unwrap().unwrap();
        assert_eq!(read.completion, held(&store, &sent.completion));
        assert_eq!(read.prompt.as_deref(), Some(held(&store, "prompt\0").as_str()));
        assert_eq!(read.run_id.as_deref(), Some(held(&store, "run\0").as_str()));
        assert_eq!(read.task["answer"], held(&store, "1\0"));
        assert_eq!(read.details[held(&store, "note\0")], "x");
        // Everything else is stored exactly, the millisecond timestamp included.
        let expected = Submission {
            completion: read.completion.clone(),
            prompt: read.prompt.clone(),
            run_id: read.run_id.clone(),
            task: read.task.clone(),
            details: read.details.clone(),
            ..sent.clone()
        };
        assert_eq!(read, expected);
        let stats = store.stats().await.unwrap();
        assert_eq!((stats.submissions, stats.oldest), (1, Some(sent.created_at)));
    }

    async fn dataset_metadata_is_bound_and_read_alike(store: Store) {
        let version = DatasetVersion {
            name: "set".into(),
            version: "v1".into(),
            shape: "native".into(),
            entries: 1,
            created_at: now_ms(),
        };
        let metadata: BTreeMap<String, Value> = [
            ("subject\0".to_owned(), json!("alge\0bra")),
            ("level".to_owned(), json!(3)),
            ("tags".to_owned(), json!(["a", {"b\0": null}])),
        ]
        .into();
        let entry = StoredEntry {
            id: "e\u{0}1".into(),
            prompt: None,
            task: json!({"kind": "math", "answer": "2"}),
            metadata,
        };
        let registered = store.insert_dataset(&version, std::slice::from_ref(&entry)).await;
        assert_eq!(registered.unwrap(), Registered::Created);
        assert_eq!(
            store
                .insert_dataset(&version, std::slice::from_ref(&entry))
                .await
                .unwrap(),
            Registered::Existing
        );

        let entries = store.dataset_entries("set", "v1").await.unwrap();
        let expected: BTreeMap<String, Value> = [
            (held(&store, "subject\0"), json!(held(&store, "alge\0bra"))),
            ("level".to_owned(), json!(3)),
            ("tags".to_owned(), json!(["a", {held(&store, "b\0"): null}])),
        ]
        .into();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, held(&store, "e\u{0}1"));
        assert_eq!(entries[0].metadata, expected);
        assert_eq!(entries[0].task, entry.task);
        assert_eq!(store.dataset_versions(None).await.unwrap(), vec![version]);
    }

    #[tokio::test]
    async fn sqlite_caller_text_and_documents_read_back_as_sent() {
        caller_text_and_documents_read_back_as_the_database_holds_them(sqlite().await).await;
    }

    #[tokio::test]
    async fn postgres_caller_text_and_documents_read_back_with_nul_replaced() {
        if let Some(store) = postgres().await {
            caller_text_and_documents_read_back_as_the_database_holds_them(store).await;
        }
    }

    #[tokio::test]
    async fn sqlite_dataset_metadata_is_bound_and_read_alike() {
        dataset_metadata_is_bound_and_read_alike(sqlite().await).await;
    }

    #[tokio::test]
    async fn postgres_dataset_metadata_is_bound_and_read_alike() {
        if let Some(store) = postgres().await {
            dataset_metadata_is_bound_and_read_alike(store).await;
        }
    }
}
