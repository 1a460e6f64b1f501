//! One run: a fresh `Store` with WASI p1 over in-memory stdio, a memory limiter that records
//! refusals, and a wall-clock deadline enforced twice — by the epoch callback while the guest
//! computes, and by `tokio::time::timeout` while it waits in a host call (`time.sleep(100)`),
//! where no epoch check can run. The epoch callback also ends a run whose output overflowed.

use std::time::{Duration, Instant};

use wasmtime::{Engine, InstancePre, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;

use super::pipe::CappedPipe;
use super::{CodeError, Limits};

/// The per-run host state of a store.
pub(super) struct RunState {
    wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
}

impl RunState {
    pub(super) fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }
}

/// Caps linear memory and remembers whether it ever said no: a refused growth decides
/// `memory_limit_exceeded` even when the guest recovers and exits with its own error.
struct MemoryLimiter {
    memory_cap: usize,
    refused: bool,
}

/// Python's table has ~5,900 entries and QuickJS's ~550; growth far past that is an attack.
const TABLE_ELEMENTS_CAP: usize = 100_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_CAP)
    }
}

/// How the guest stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Exit {
    /// `proc_exit(code)` or a return from `_start` (code 0).
    Code(i32),
    /// A trap or a host-side refusal (such as an exit code ≥ 126), with its description.
    Trap(String),
    /// The wall-clock deadline passed.
    Timeout,
}

/// What the engine observed, before any language-specific reading of it.
#[derive(Debug)]
pub(super) struct RawRun {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub memory_refused: bool,
    pub elapsed: Duration,
}

/// Runs `_start` of a fresh instance of `pre` with `argv`, `stdin` and `limits`.
///
/// `Err` only for failures of the service (an exhausted instance pool, a broken link), never
/// for anything the guest does.
pub(super) async fn run(
    engine: &Engine,
    pre: &InstancePre<RunState>,
    argv: &[String],
    stdin: Vec<u8>,
    limits: &Limits,
) -> Result<RawRun, CodeError> {
    let cap = usize::try_from(limits.output_bytes()).unwrap_or(usize::MAX);
    let stdout = CappedPipe::new(cap);
    let stderr = CappedPipe::new(cap);
    // Defaults of the builder already give no env, no preopens and no permitted socket addresses;
    // the network switches are set explicitly so a future default change cannot open them.
    let wasi = WasiCtxBuilder::new()
        .args(argv)
        .stdin(MemoryInputPipe::new(stdin))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build_p1();
    let memory_cap = usize::try_from(limits.memory_bytes()).unwrap_or(usize::MAX);
    let mut store = Store::new(
        engine,
        RunState {
            wasi,
            limiter: MemoryLimiter {
                memory_cap,
                refused: false,
            },
        },
    );
    store.limiter(|state| &mut state.limiter);

    let started = Instant::now();
    let deadline = started + limits.time();
    // Checked at every epoch tick: yield to the executor so a busy guest shares its worker
    // thread, and interrupt once the deadline has passed or the output overflowed.
    store.set_epoch_deadline(1);
    let (out, err) = (stdout.clone(), stderr.clone());
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline || out.overflowed() || err.overflowed() {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });

    let result = tokio::time::timeout(limits.time(), async {
        let instance = match pre.instantiate_async(&mut store).await {
            Ok(instance) => instance,
            Err(e) => return Err(Err(e)),
        };
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(Err)?;
        start.call_async(&mut store, ()).await.map_err(Ok)
    })
    .await;
    let elapsed = started.elapsed();
    let memory_refused = store.data().limiter.refused;
    let exit = match result {
        Err(_elapsed) => Exit::Timeout,
        Ok(Ok(())) => Exit::Code(0),
        Ok(Err(Ok(call_error))) => exit_of(&call_error),
        // Instantiation itself can only fail for the guest's sake when its initial memory
        // is above the limit; anything else is the service's problem.
        Ok(Err(Err(_))) if memory_refused => Exit::Trap("initial memory above the limit".to_owned()),
        Ok(Err(Err(e))) => return Err(CodeError::wasmtime("cannot instantiate the runtime", e)),
    };
    drop(store);
    Ok(RawRun {
        exit,
        stdout: stdout.take(),
        stderr: stderr.take(),
        stdout_truncated: stdout.overflowed(),
        stderr_truncated: stderr.overflowed(),
        memory_refused,
        elapsed,
    })
}

fn exit_of(error: &wasmtime::Error) -> Exit {
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Exit::Code(exit.0);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Exit::Timeout,
        Some(trap) => Exit::Trap(trap.to_string()),
        None => Exit::Trap(error.to_string()),
    }
}
