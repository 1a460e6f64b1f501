//! One run: a fresh `Store` over in-memory stdio, a memory limiter that records refusals, and
//! a wall-clock deadline enforced twice — by the epoch callback while the guest computes, and
//! by `tokio::time::timeout` while it waits in a host call (`time.sleep(100)`), where no epoch
//! check can run. The epoch callback also ends a run whose output overflowed.
//!
//! Two kinds of guest share all of that: a WASI p1 command (`_start` with an argv: python.wasm,
//! quickjs.wasm) and a runner component (`run(code) -> status`: the pre-initialised CPython).

use std::time::{Duration, Instant};

use wasmtime::component::{self, ResourceTable};
use wasmtime::{Engine, InstancePre, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::pipe::{CappedPipe, FeedPipe};
use super::{CodeError, Limits};

/// The per-run host state of a command's store.
pub(super) struct RunState {
    wasi: WasiP1Ctx,
    limiter: MemoryLimiter,
}

impl RunState {
    pub(super) fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }
}

/// The per-run host state of a runner component's store.
pub(super) struct RunnerState {
    ctx: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
}

impl WasiView for RunnerState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

/// The status a runner returns for a program that does not compile (`wit/runner.wit`).
const RUNNER_COMPILE_ERROR: i32 = -1;

/// Caps the store's linear memory — the sum over all its memories, since a component holds
/// several — and remembers whether it ever said no: a refused growth decides
/// `memory_limit_exceeded` even when the guest recovers and exits with its own error.
struct MemoryLimiter {
    memory_cap: usize,
    total: usize,
    refused: bool,
}

impl MemoryLimiter {
    fn new(limits: &Limits) -> Self {
        MemoryLimiter {
            memory_cap: usize::try_from(limits.memory_bytes()).unwrap_or(usize::MAX),
            total: 0,
            refused: false,
        }
    }
}

/// Python's table has ~5,900 entries and QuickJS's ~550; growth far past that is an attack.
const TABLE_ELEMENTS_CAP: usize = 100_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Instantiation asks for each memory's initial size with `current == 0`, so the total
        // covers every byte the store holds.
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.memory_cap {
            self.refused = true;
            return Ok(false);
        }
        self.total = total;
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
    /// A runner reported that the program does not compile (an unforgeable status, not a
    /// reading of stderr).
    CompileError,
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
    /// Fuel consumed, when the engine counts it.
    pub fuel: Option<u64>,
}

/// Where a guest's stdin comes from.
enum Stdin {
    /// All of it, known before the run.
    Bytes(Vec<u8>),
    /// Fed by the host while the guest runs (the two sides of an assert-based test).
    Fed(FeedPipe),
}

/// The guest's stdio for one run.
pub(super) struct Stdio {
    stdin: Stdin,
    stdout: CappedPipe,
    stderr: CappedPipe,
}

impl Stdio {
    pub(super) fn new(stdin: Vec<u8>, limits: &Limits) -> Self {
        Self::with_stdin(Stdin::Bytes(stdin), limits)
    }

    /// Stdio whose stdin the host feeds through the returned pipe as the guest runs.
    pub(super) fn fed(limits: &Limits) -> (Self, FeedPipe) {
        let feed = FeedPipe::default();
        (Self::with_stdin(Stdin::Fed(feed.clone()), limits), feed)
    }

    fn with_stdin(stdin: Stdin, limits: &Limits) -> Self {
        let cap = usize::try_from(limits.output_bytes()).unwrap_or(usize::MAX);
        Stdio {
            stdin,
            stdout: CappedPipe::new(cap),
            stderr: CappedPipe::new(cap),
        }
    }

    /// The guest's stdout, for a host that watches it while the guest runs.
    pub(super) fn stdout(&self) -> CappedPipe {
        self.stdout.clone()
    }

    /// A WASI context over this stdio. The builder's defaults already give no env, no preopens
    /// and no permitted socket addresses; the network switches are set explicitly so a future
    /// default change cannot open them.
    fn wasi(&self) -> WasiCtxBuilder {
        let mut builder = WasiCtxBuilder::new();
        match &self.stdin {
            Stdin::Bytes(bytes) => builder.stdin(MemoryInputPipe::new(bytes.clone())),
            Stdin::Fed(feed) => builder.stdin(feed.clone()),
        };
        builder
            .stdout(self.stdout.clone())
            .stderr(self.stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        builder
    }
}

/// How a run attempt ended before classification: the guest's own end, or an instantiation
/// failure (the service's problem unless the memory limit explains it).
type Attempt = Result<Exit, wasmtime::Error>;

/// Runs `_start` of a fresh instance of `pre` with `argv`, `stdio` and `limits`.
///
/// `Err` only for failures of the service (an exhausted instance pool, a broken link), never
/// for anything the guest does.
pub(super) async fn run(
    engine: &Engine,
    pre: &InstancePre<RunState>,
    argv: &[String],
    stdio: Stdio,
    limits: &Limits,
) -> Result<RawRun, CodeError> {
    let state = RunState {
        wasi: stdio.wasi().args(argv).build_p1(),
        limiter: MemoryLimiter::new(limits),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    let started = arm_deadline(&mut store, limits, &stdio);
    let attempt = tokio::time::timeout(limits.time(), async {
        let instance = pre.instantiate_async(&mut store).await?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        Attempt::Ok(match start.call_async(&mut store, ()).await {
            Ok(()) => Exit::Code(0),
            Err(e) => exit_of(&e),
        })
    })
    .await;
    let memory_refused = store.data().limiter.refused;
    let fuel = fuel_used(&store);
    drop(store);
    conclude(attempt, started, memory_refused, fuel, stdio)
}

/// Calls `run(code)` on a fresh instance of the runner component `pre`, with `stdio` and
/// `limits`. Errors as for [`run`].
pub(super) async fn run_component(
    engine: &Engine,
    pre: &component::InstancePre<RunnerState>,
    code: &str,
    stdio: Stdio,
    limits: &Limits,
) -> Result<RawRun, CodeError> {
    let state = RunnerState {
        ctx: stdio.wasi().build(),
        table: ResourceTable::new(),
        limiter: MemoryLimiter::new(limits),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    let started = arm_deadline(&mut store, limits, &stdio);
    let attempt = tokio::time::timeout(limits.time(), async {
        let instance = pre.instantiate_async(&mut store).await?;
        let run = instance.get_typed_func::<(&str,), (i32,)>(&mut store, "run")?;
        // The instance is dropped right after, so `post_return` (which only frees the
        // guest's copy of the arguments) is not needed.
        Attempt::Ok(match run.call_async(&mut store, (code,)).await {
            Ok((RUNNER_COMPILE_ERROR,)) => Exit::CompileError,
            Ok((status,)) => Exit::Code(status),
            Err(e) => exit_of(&e),
        })
    })
    .await;
    let memory_refused = store.data().limiter.refused;
    let fuel = fuel_used(&store);
    drop(store);
    conclude(attempt, started, memory_refused, fuel, stdio)
}

/// Checked at every epoch tick: yield to the executor so a busy guest shares its worker
/// thread, and interrupt once the deadline has passed or the output overflowed. Returns when
/// the run's clock started.
fn arm_deadline<T: 'static>(store: &mut Store<T>, limits: &Limits, stdio: &Stdio) -> Instant {
    // Fails only when the engine does not count fuel; time and memory still bound the run,
    // so the tank is never what stops it.
    let _ = store.set_fuel(FUEL_TANK);
    let started = Instant::now();
    let deadline = started + limits.time();
    store.set_epoch_deadline(1);
    let (out, err) = (stdio.stdout.clone(), stdio.stderr.clone());
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline || out.overflowed() || err.overflowed() {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    started
}

/// Fuel put in every store: more than any run can burn within the largest time limit.
const FUEL_TANK: u64 = i64::MAX as u64;

/// Fuel burnt so far; `None` when the engine does not count it.
fn fuel_used<T>(store: &Store<T>) -> Option<u64> {
    store.get_fuel().ok().map(|left| FUEL_TANK - left)
}

fn conclude(
    attempt: Result<Attempt, tokio::time::error::Elapsed>,
    started: Instant,
    memory_refused: bool,
    fuel: Option<u64>,
    stdio: Stdio,
) -> Result<RawRun, CodeError> {
    let elapsed = started.elapsed();
    let exit = match attempt {
        Err(_elapsed) => Exit::Timeout,
        Ok(Ok(exit)) => exit,
        // Instantiation itself can only fail for the guest's sake when its initial memory
        // is above the limit; anything else is the service's problem.
        Ok(Err(_)) if memory_refused => Exit::Trap("initial memory above the limit".to_owned()),
        // The deadline (or an output overflow) can interrupt a runner's start-up code, which
        // runs during instantiation: with a limit of a few milliseconds that is the guest's
        // time running out, not a failure of the service.
        Ok(Err(e)) if matches!(e.downcast_ref::<Trap>(), Some(Trap::Interrupt)) => Exit::Timeout,
        Ok(Err(e)) => return Err(CodeError::wasmtime("cannot instantiate the runtime", e)),
    };
    Ok(RawRun {
        exit,
        stdout: stdio.stdout.take(),
        stderr: stdio.stderr.take(),
        stdout_truncated: stdio.stdout.overflowed(),
        stderr_truncated: stdio.stderr.overflowed(),
        memory_refused,
        elapsed,
        fuel,
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
