//! Per-run limits (time, memory, output), checked once against the server's maxima when a
//! request becomes a [`Limits`]; after that nothing re-checks them.

use std::time::Duration;

use serde::Serialize;

const MIB: u64 = 1024 * 1024;

/// The most a request may ask for. The memory maximum also sizes the pooling allocator's
/// slots, so it is fixed when the [`Sandbox`](super::Sandbox) is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LimitMaxima {
    pub time: Duration,
    pub memory_bytes: u64,
    pub output_bytes: u64,
}

impl Default for LimitMaxima {
    fn default() -> Self {
        LimitMaxima {
            time: Duration::from_secs(60),
            memory_bytes: 1024 * MIB,
            output_bytes: 64 * MIB,
        }
    }
}

/// Validated limits for one run. `time` is wall-clock from instantiation to exit and
/// includes host calls (a `sleep` counts); `output_bytes` caps stdout and stderr each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    time: Duration,
    memory_bytes: u64,
    output_bytes: u64,
}

/// A requested limit that is zero or above the server's maximum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limits.{field} must be between 1 and {max}, got {got}")]
pub struct LimitsError {
    pub field: &'static str,
    pub max: u64,
    pub got: u64,
}

impl Limits {
    /// 2 s wall-clock: the Python runner starts in a few ms and CPU-bound Python runs
    /// 3.5–4× slower than native CPython (BENCHMARKS.md), so this is ~0.5 s of
    /// native work.
    pub const DEFAULT_TIME: Duration = Duration::from_secs(2);
    /// 256 MiB of linear memory (docs/code-semantics.md).
    pub const DEFAULT_MEMORY_BYTES: u64 = 256 * MIB;
    /// 1 MiB each for stdout and stderr.
    pub const DEFAULT_OUTPUT_BYTES: u64 = MIB;

    /// Builds limits from optional request values (`None` takes the default, itself clamped
    /// to the maxima), rejecting zero and anything above `max`.
    pub fn new(
        time_ms: Option<u64>,
        memory_mb: Option<u64>,
        output_bytes: Option<u64>,
        max: &LimitMaxima,
    ) -> Result<Limits, LimitsError> {
        fn check(field: &'static str, got: Option<u64>, default: u64, max: u64) -> Result<u64, LimitsError> {
            match got {
                None => Ok(default.min(max)),
                Some(v) if v == 0 || v > max => Err(LimitsError { field, max, got: v }),
                Some(v) => Ok(v),
            }
        }
        let max_time_ms = u64::try_from(max.time.as_millis()).unwrap_or(u64::MAX);
        let default_time_ms = Self::DEFAULT_TIME.as_millis() as u64;
        let time_ms = check("time_ms", time_ms, default_time_ms, max_time_ms)?;
        let memory_mb = check(
            "memory_mb",
            memory_mb,
            Self::DEFAULT_MEMORY_BYTES / MIB,
            max.memory_bytes / MIB,
        )?;
        let output_bytes = check(
            "output_bytes",
            output_bytes,
            Self::DEFAULT_OUTPUT_BYTES,
            max.output_bytes,
        )?;
        Ok(Limits {
            time: Duration::from_millis(time_ms),
            memory_bytes: memory_mb * MIB,
            output_bytes,
        })
    }

    /// The defaults, clamped to `max`.
    pub fn defaults(max: &LimitMaxima) -> Limits {
        Limits::new(None, None, None, max).expect("defaults are clamped to the maxima")
    }

    pub fn time(&self) -> Duration {
        self.time
    }

    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    pub fn output_bytes(&self) -> u64 {
        self.output_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_values_take_the_defaults() {
        let l = Limits::new(None, None, None, &LimitMaxima::default()).unwrap();
        assert_eq!(l.time(), Limits::DEFAULT_TIME);
        assert_eq!(l.memory_bytes(), Limits::DEFAULT_MEMORY_BYTES);
        assert_eq!(l.output_bytes(), Limits::DEFAULT_OUTPUT_BYTES);
    }

    #[test]
    fn values_above_the_maximum_are_rejected_with_the_field_name() {
        let err = Limits::new(None, Some(4096), None, &LimitMaxima::default()).unwrap_err();
        assert_eq!(err.field, "memory_mb");
        assert_eq!(err.max, 1024);
        let err = Limits::new(Some(0), None, None, &LimitMaxima::default()).unwrap_err();
        assert_eq!(err.field, "time_ms");
    }

    #[test]
    fn defaults_are_clamped_to_small_maxima() {
        let max = LimitMaxima {
            time: Duration::from_millis(500),
            memory_bytes: 64 * MIB,
            output_bytes: 10,
        };
        let l = Limits::defaults(&max);
        assert_eq!(l.time(), Duration::from_millis(500));
        assert_eq!(l.memory_bytes(), 64 * MIB);
        assert_eq!(l.output_bytes(), 10);
    }
}
