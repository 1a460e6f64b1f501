//! Registered datasets: answer keys kept beside the verifier, versioned by content hash, and
//! their entries. The types, the [`Store`] entry points, and the one body of SQL both dialects
//! run.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Executor, QueryBuilder, Row};
use time::OffsetDateTime;

use super::backend::{Backend, count, stored_count};
use super::dialect::{Codec, Dialect, FreeText, JsonDoc, Timestamp};
use super::{INSERT_CHUNK, Store, StoreError};

/// One registered dataset version.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DatasetVersion {
    pub name: String,
    /// The content hash of the entries: the same content always has the same version.
    pub version: String,
    /// The source shape the entries were imported from (`native`, `math500`, `gsm8k`, `humaneval`).
    pub shape: String,
    pub entries: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// Dataset entries are the dataset module's type; the store only keeps them.
pub use crate::dataset::StoredEntry;

/// Whether a dataset upload created a version or found it already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    Created,
    Existing,
}

impl Store {
    /// Stores a dataset version and its entries in one transaction; a version already stored
    /// is left as it is (its content is the same: the version is the content hash).
    pub async fn insert_dataset(
        &self,
        version: &DatasetVersion,
        entries: &[StoredEntry],
    ) -> Result<Registered, StoreError> {
        dispatch!(self, s => s.insert_dataset(version, entries).await)
    }

    /// Every stored version (of `name` only, when given), newest first.
    pub async fn dataset_versions(&self, name: Option<&str>) -> Result<Vec<DatasetVersion>, StoreError> {
        dispatch!(self, s => s.dataset_versions(name).await)
    }

    /// Every entry of one version, in upload order.
    pub async fn dataset_entries(&self, name: &str, version: &str) -> Result<Vec<StoredEntry>, StoreError> {
        dispatch!(self, s => s.dataset_entries(name, version).await)
    }
}

/// An entry's free labels, as stored.
type Metadata = BTreeMap<String, Value>;

impl<DB: Dialect> Backend<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'n> &'n str: ColumnIndex<DB::Row>,
    String: Codec<DB>,
    Option<String>: Codec<DB>,
    i64: Codec<DB>,
    Option<i64>: Codec<DB>,
    f64: Codec<DB>,
    bool: Codec<DB>,
    Json<Value>: Codec<DB>,
    Json<Metadata>: Codec<DB>,
{
    pub async fn insert_dataset(
        &self,
        version: &DatasetVersion,
        entries: &[StoredEntry],
    ) -> Result<Registered, StoreError> {
        let _writing = self.writing().await;
        let mut tx = self.pool.begin().await?;
        let created = sqlx::query(
            "insert into datasets (name, version, shape, entries, created_at) values ($1, $2, $3, $4, $5) \
             on conflict (name, version) do nothing",
        )
        .bind(&version.name)
        .bind(&version.version)
        .bind(&version.shape)
        .bind(stored_count(version.entries))
        .bind(Timestamp(version.created_at))
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&created) == 0 {
            return Ok(Registered::Existing);
        }
        let mut position = 0_i64;
        for chunk in entries.chunks(INSERT_CHUNK) {
            let mut query = QueryBuilder::<DB>::new(
                "insert into dataset_entries (name, version, entry_id, position, prompt, task, metadata) ",
            );
            query.push_values(chunk, |mut row, entry| {
                row.push_bind(&version.name)
                    .push_bind(&version.version)
                    .push_bind(FreeText::from(&entry.id))
                    .push_bind(position)
                    .push_bind(FreeText::from(&entry.prompt))
                    .push_bind(JsonDoc(&entry.task))
                    .push_bind(JsonDoc(&entry.metadata));
                position += 1;
            });
            query.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Registered::Created)
    }

    pub async fn dataset_versions(&self, name: Option<&str>) -> Result<Vec<DatasetVersion>, StoreError> {
        let mut query = QueryBuilder::<DB>::new(
            "select name, version, shape, entries, created_at from datasets where 1 = 1",
        );
        if let Some(name) = name {
            query.push(" and name = ").push_bind(name.to_owned());
        }
        query.push(" order by created_at desc, name, version");
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(DatasetVersion {
                    name: row.try_get("name")?,
                    version: row.try_get("version")?,
                    shape: row.try_get("shape")?,
                    entries: count(row.try_get("entries")?),
                    created_at: row.try_get::<Timestamp, _>("created_at")?.0,
                })
            })
            .collect()
    }

    pub async fn dataset_entries(&self, name: &str, version: &str) -> Result<Vec<StoredEntry>, StoreError> {
        let rows = sqlx::query(
            "select entry_id, prompt, task, metadata from dataset_entries \
             where name = $1 and version = $2 order by position",
        )
        .bind(name.to_owned())
        .bind(version.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredEntry {
                    id: row.try_get("entry_id")?,
                    prompt: row.try_get("prompt")?,
                    task: row.try_get::<Json<Value>, _>("task")?.0,
                    metadata: row.try_get::<Json<Metadata>, _>("metadata")?.0,
                })
            })
            .collect()
    }
}
