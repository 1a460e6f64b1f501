//! A run's reward and accuracy over time: its span cut into equal buckets, each aggregated by
//! the database (a `group by` on the bucket index), so a chart of a million-row run reads a
//! few hundred rows. The backends compute the bucket index of each row; the bucket arithmetic
//! (width, bounds, rates) lives here once, so both dialects give identical buckets.

use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Executor, Row};
use time::{Duration, OffsetDateTime};

use super::backend::Backend;
use super::dialect::{Codec, Dialect, Timestamp};
use super::{Store, StoreError};

/// The most buckets a timeline may be cut into.
pub const MAX_BUCKETS: u32 = 1000;

/// One bucket's aggregates as a backend reads them.
#[derive(Debug)]
struct BucketGroup {
    pub index: i64,
    pub count: i64,
    pub reward_sum: f64,
    pub accurate: i64,
    pub formatted: i64,
}

/// One slice of a run's time span.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelineBucket {
    /// Inclusive.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub start: OffsetDateTime,
    /// Exclusive.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub end: OffsetDateTime,
    pub count: u64,
    pub mean_reward: f64,
    /// Share of the bucket's items judged `correct` or `accepted`.
    pub accuracy_rate: f64,
    /// Share of the bucket's items whose format earned the format reward.
    pub format_rate: f64,
}

/// A run's span cut into equal buckets. Buckets without submissions are left out, so a run
/// with a pause shows a gap rather than a false zero.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub run_id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen: OffsetDateTime,
    /// Width of every bucket in milliseconds.
    pub bucket_ms: i64,
    /// The non-empty buckets, oldest first.
    pub buckets: Vec<TimelineBucket>,
}

impl Store {
    /// `run_id`'s span cut into `buckets` equal slices with each slice's mean reward and
    /// rates; `None` when no submission carries the run id.
    pub async fn timeline(&self, run_id: &str, buckets: u32) -> Result<Option<Timeline>, StoreError> {
        let Some((first, last)) = dispatch!(self, s => s.run_span(run_id).await)? else {
            return Ok(None);
        };
        let first_ms = epoch_ms(first);
        let width = bucket_width_ms(first_ms, epoch_ms(last), buckets);
        let groups = dispatch!(self, s => s.timeline_groups(run_id, first_ms, width).await)?;
        Ok(Some(assemble(run_id, first, last, width, groups)))
    }
}

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
{
    /// The first and last creation time of `run_id`'s submissions.
    async fn run_span(&self, run_id: &str) -> Result<Option<(OffsetDateTime, OffsetDateTime)>, StoreError> {
        let row = sqlx::query(
            "select min(created_at) as first_seen, max(created_at) as last_seen \
             from submissions where run_id = $1",
        )
        .bind(run_id.to_owned())
        .fetch_one(&self.pool)
        .await?;
        let first: Option<Timestamp> = row.try_get("first_seen")?;
        let last: Option<Timestamp> = row.try_get("last_seen")?;
        Ok(first.zip(last).map(|(first, last)| (first.0, last.0)))
    }

    /// `run_id`'s submissions grouped into buckets of `width_ms` from `first_ms`, the index
    /// computed by the dialect's [`Dialect::BUCKET_INDEX`]. The accurate verdicts are those of
    /// `ACCURATE` in `submissions.rs`.
    async fn timeline_groups(
        &self,
        run_id: &str,
        first_ms: i64,
        width_ms: i64,
    ) -> Result<Vec<BucketGroup>, StoreError> {
        // Only constants go into the text; values are bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "select {bucket} as bucket, count(*) as n, sum(reward) as reward_sum, \
             sum(case when verdict in ('correct', 'accepted') then 1 else 0 end) as accurate_n, \
             sum(case when format_ok then 1 else 0 end) as format_n \
             from submissions where run_id = $1 group by bucket order by bucket",
            bucket = DB::BUCKET_INDEX,
        )))
        .bind(run_id.to_owned())
        .bind(first_ms)
        .bind(width_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BucketGroup {
                    index: row.try_get("bucket")?,
                    count: row.try_get("n")?,
                    reward_sum: row.try_get("reward_sum")?,
                    accurate: row.try_get("accurate_n")?,
                    formatted: row.try_get("format_n")?,
                })
            })
            .collect()
    }
}

/// Milliseconds since the epoch: both backends store whole milliseconds.
pub(super) fn epoch_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The width that cuts `[first, last]` (both inclusive, in whole ms) into `buckets` slices,
/// so that the last submission falls in the last bucket and never past it.
fn bucket_width_ms(first_ms: i64, last_ms: i64, buckets: u32) -> i64 {
    let span = last_ms.saturating_sub(first_ms).max(0) + 1;
    let buckets = i64::from(buckets.clamp(1, MAX_BUCKETS));
    (span + buckets - 1) / buckets
}

fn assemble(
    run_id: &str,
    first_seen: OffsetDateTime,
    last_seen: OffsetDateTime,
    width_ms: i64,
    groups: Vec<BucketGroup>,
) -> Timeline {
    let buckets = groups
        .into_iter()
        .filter(|group| group.count > 0)
        .map(|group| {
            let start = first_seen + Duration::milliseconds(group.index * width_ms);
            let n = group.count as f64;
            TimelineBucket {
                start,
                end: start + Duration::milliseconds(width_ms),
                count: u64::try_from(group.count).unwrap_or(0),
                mean_reward: group.reward_sum / n,
                accuracy_rate: group.accurate as f64 / n,
                format_rate: group.formatted as f64 / n,
            }
        })
        .collect();
    Timeline {
        run_id: run_id.to_owned(),
        first_seen,
        last_seen,
        bucket_ms: width_ms,
        buckets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_submission_falls_in_the_last_bucket() {
        // 0..=999 ms in 4 buckets: width 250, so 999 is in bucket 3.
        assert_eq!(bucket_width_ms(0, 999, 4), 250);
        assert_eq!(999 / bucket_width_ms(0, 999, 4), 3);
        // A span that does not divide evenly rounds the width up, never past the last bucket.
        let width = bucket_width_ms(0, 1000, 4);
        assert_eq!(width, 251);
        assert_eq!(1000 / width, 3);
    }

    #[test]
    fn a_run_of_one_instant_is_one_bucket_of_one_millisecond() {
        assert_eq!(bucket_width_ms(5, 5, 10), 1);
        assert_eq!(bucket_width_ms(5, 5, 0), 1, "zero buckets is clamped to one");
    }

    #[test]
    fn buckets_carry_rates_and_bounds() {
        let first = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        let timeline = assemble(
            "r",
            first,
            first + Duration::seconds(9),
            2_500,
            vec![
                BucketGroup {
                    index: 0,
                    count: 4,
                    reward_sum: 5.0,
                    accurate: 2,
                    formatted: 3,
                },
                BucketGroup {
                    index: 3,
                    count: 1,
                    reward_sum: 2.0,
                    accurate: 1,
                    formatted: 1,
                },
            ],
        );
        assert_eq!(timeline.buckets.len(), 2);
        let b = &timeline.buckets[0];
        assert_eq!(
            (b.count, b.mean_reward, b.accuracy_rate, b.format_rate),
            (4, 1.25, 0.5, 0.75)
        );
        assert_eq!(timeline.buckets[1].start, first + Duration::milliseconds(7_500));
        assert_eq!(timeline.buckets[1].end, first + Duration::seconds(10));
    }
}
