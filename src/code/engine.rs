//! The sandbox built once per process: one wasmtime `Engine`, the language runtimes compiled
//! into `InstancePre`s, the epoch ticker, and the bound on concurrent runs.
//!
//! Compiled code is cached on disk by wasmtime's own cache (`<data_dir>/modules`), keyed by a
//! SHA-256 of the wasmtime version, every engine setting that affects code generation and the
//! module bytes; loading from it is the safe API (`Module::new` with a cache hit), because the
//! crate forbids `unsafe` and `Module::deserialize*` is `unsafe` (decision record 002).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, Semaphore};
use wasmtime::component::{self, Component};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module, OptLevel,
    PoolingAllocationConfig,
};

use super::harness;
use super::images::ImageStore;
use super::judged::{self, Conversation, Side};
use super::run::{self, Exit, RawRun, RunState, RunnerState, Stdio};
use super::runner_build;
use super::{CodeError, Language, LimitMaxima, Limits, RunOutcome, RunStatus, lang};

/// How the sandbox is built. `SandboxConfig::new(data_dir)` gives working defaults.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Images go to `<data_dir>/images`, compiled code to `<data_dir>/modules`.
    pub data_dir: PathBuf,
    /// Runs allowed at once; the pooling allocator has two instance slots for each, since an
    /// assert-based test is one run of two instances (its judge and its solution, each under
    /// the memory limit). Further runs wait for a slot (queueing time is not part of a run's
    /// time).
    pub max_concurrent_runs: usize,
    /// The largest limits a request may ask for; the memory maximum sizes the pool's slots.
    pub maxima: LimitMaxima,
    /// Epoch period: a computing guest notices its deadline (and yields its thread) within
    /// one tick.
    pub epoch_tick: Duration,
    /// The pip executable used to fetch images.
    pub pip: String,
    /// The host Python that runs build tools (componentize-py) — never guest code.
    pub python: String,
    /// Count the wasm instructions each run executes (wasmtime fuel): a measure of work
    /// that, unlike time, does not depend on the machine or its load, for the efficiency
    /// term of the reward. Off by default: it slows CPU-bound guests (BENCHMARKS.md).
    pub count_fuel: bool,
}

impl SandboxConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        SandboxConfig {
            data_dir: data_dir.into(),
            max_concurrent_runs: cores * 2,
            maxima: LimitMaxima::default(),
            epoch_tick: Duration::from_millis(2),
            pip: "pip".to_owned(),
            python: "python3".to_owned(),
            count_fuel: false,
        }
    }
}

/// The code sandbox: cheap to share behind an `Arc`, safe to call from many tasks.
pub struct Sandbox {
    engine: Engine,
    /// WASI p1 commands (python.wasm, quickjs.wasm), instantiated per run with an argv.
    commands: HashMap<Language, InstancePre<RunState>>,
    /// Pre-initialised runner components, preferred over the command of their language.
    runners: HashMap<Language, Runner>,
    permits: Semaphore,
    maxima: LimitMaxima,
    _ticker: Ticker,
}

/// Native stack for wasm frames. Python frames are large and CPython 3.12's recursion limit
/// bounds Python-level depth, so deep C recursion (e.g. `repr` of a deeply nested list) is what
/// reaches this and ends as a stack-overflow trap, i.e. a runtime error.
const MAX_WASM_STACK: usize = 8 << 20;

/// Instances one run slot may hold at once: the judge and the solution of an assert test.
const INSTANCES_PER_RUN: u32 = 2;

/// Core instances (and memories, tables) one runner component instantiates: 14 measured for
/// the CPython runner, with room for a rebuilt one.
const CORE_INSTANCES_PER_RUNNER: u32 = 20;

/// A runner component and the modules only its language's command has.
struct Runner {
    pre: component::InstancePre<RunnerState>,
    /// Top-level modules the command can import and the runner cannot, asked of both (with
    /// programs of ours, never a guest's) the first time a program imports anything.
    command_only: OnceCell<HashSet<String>>,
}

/// Both sides of an assert-based test, as the host saw them (`judged.rs`).
#[derive(Debug)]
pub struct JudgedRun {
    pub judge: RunOutcome,
    pub solution: RunOutcome,
    pub conversation: Conversation,
    /// What the solution printed, without the driver's markers.
    pub solution_output: String,
}

impl Sandbox {
    /// Fetches missing images, then compiles (or loads from the on-disk cache) every runtime.
    /// Blocking and slow on a cold cache (seconds): call it from `spawn_blocking` inside an
    /// async runtime. `progress` gets one line per step that does work.
    pub fn new(config: &SandboxConfig, progress: &mut dyn FnMut(&str)) -> Result<Sandbox, CodeError> {
        let data_dir = std::path::absolute(&config.data_dir).map_err(|source| CodeError::Io {
            action: "cannot resolve",
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let engine = build_engine(config, &data_dir)?;
        let mut linker = Linker::<RunState>::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, RunState::wasi)
            .map_err(|e| CodeError::wasmtime("cannot link WASI p1", e))?;

        let images = ImageStore::new(&data_dir).with_pip(config.pip.clone());
        let mut commands = HashMap::new();
        for language in Language::ALL {
            let file = images.load(language, progress)?;
            let started = Instant::now();
            let module = Module::new(&engine, &file.bytes)
                .map_err(|e| CodeError::wasmtime(format!("cannot compile {}", file.path.display()), e))?;
            tracing::info!(
                %language,
                sha256 = %file.sha256,
                ms = started.elapsed().as_secs_f64() * 1e3,
                "sandbox runtime ready"
            );
            let pre = linker
                .instantiate_pre(&module)
                .map_err(|e| CodeError::wasmtime(format!("cannot link {}", file.path.display()), e))?;
            commands.insert(language, pre);
        }
        let mut component_linker = component::Linker::<RunnerState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut component_linker)
            .map_err(|e| CodeError::wasmtime("cannot link WASI p2", e))?;
        let mut runners = HashMap::new();
        for language in Language::ALL {
            let Some(file) = runner_build::load_runner(&images, language, &config.python, progress)? else {
                continue;
            };
            let started = Instant::now();
            let component = Component::new(&engine, &file.bytes)
                .map_err(|e| CodeError::wasmtime(format!("cannot compile {}", file.path.display()), e))?;
            tracing::info!(
                %language,
                sha256 = %file.sha256,
                ms = started.elapsed().as_secs_f64() * 1e3,
                "sandbox runner component ready"
            );
            let pre = component_linker
                .instantiate_pre(&component)
                .map_err(|e| CodeError::wasmtime(format!("cannot link {}", file.path.display()), e))?;
            let runner = Runner {
                pre,
                command_only: OnceCell::new(),
            };
            runners.insert(language, runner);
        }
        Ok(Sandbox {
            _ticker: Ticker::start(engine.clone(), config.epoch_tick).map_err(CodeError::Thread)?,
            engine,
            commands,
            runners,
            permits: Semaphore::new(config.max_concurrent_runs),
            maxima: config.maxima,
        })
    }

    /// The largest limits a request may ask for.
    pub fn maxima(&self) -> &LimitMaxima {
        &self.maxima
    }

    /// Runs `code` with `stdin` under `limits` in a fresh instance, waiting for a free slot
    /// first. Whatever the program does is in the returned [`RunOutcome`].
    pub async fn run(
        &self,
        language: Language,
        code: &str,
        stdin: &[u8],
        limits: &Limits,
    ) -> Result<RunOutcome, CodeError> {
        self.run_driver(language, code, code, stdin, limits).await
    }

    /// Runs `program`, one of our drivers carrying `solution` inside it, as [`run`](Self::run)
    /// does; the interpreter is chosen from `solution`'s imports (inside the driver they are
    /// text of a string literal, which the scan does not read).
    pub async fn run_driver(
        &self,
        language: Language,
        program: &str,
        solution: &str,
        stdin: &[u8],
        limits: &Limits,
    ) -> Result<RunOutcome, CodeError> {
        let _permit = self.permits.acquire().await.map_err(|_| CodeError::Closed)?;
        let raw = self
            .run_raw(
                language,
                program,
                &[solution],
                Stdio::new(stdin.to_vec(), limits),
                limits,
            )
            .await?;
        Ok(classify(language, raw))
    }

    /// An assert-based test: `judge_program` and `solution_program` in two fresh instances,
    /// each under `limits`, with the host relaying calls between them (`judged.rs`).
    /// `solution_source` and `test_code` are what the import scan reads.
    pub async fn run_judged(
        &self,
        language: Language,
        judge: (&str, &str),
        solution: (&str, &str),
        limits: &Limits,
    ) -> Result<JudgedRun, CodeError> {
        let ((judge_program, test_code), (solution_program, solution_source)) = (judge, solution);
        // One run slot for the pair: the two instances take turns (one waits while the other
        // answers), so together they use about one core; the pool holds two instances per
        // slot (`build_engine`), so the pair always finds room.
        let _permit = self.permits.acquire().await.map_err(|_| CodeError::Closed)?;
        let solution_nonce = new_nonce();
        let (judge_stdio, judge_stdin) = Stdio::fed(limits);
        let (solution_stdio, solution_stdin) = Stdio::fed(limits);
        let judge_side = Side {
            stdout: judge_stdio.stdout(),
            stdin: judge_stdin,
            nonce: new_nonce(),
        };
        let solution_side = Side {
            stdout: solution_stdio.stdout(),
            stdin: solution_stdin,
            nonce: solution_nonce.clone(),
        };
        let (test_sources, solution_sources) = ([test_code], [solution_source]);
        let judge_run = self.run_raw(language, judge_program, &test_sources, judge_stdio, limits);
        let solution_run = self.run_raw(
            language,
            solution_program,
            &solution_sources,
            solution_stdio,
            limits,
        );
        let (judge_raw, solution_raw, conversation) =
            judged::converse(judge_run, solution_run, judge_side, solution_side).await;
        let solution = classify(language, solution_raw?);
        Ok(JudgedRun {
            judge: classify(language, judge_raw?),
            solution_output: harness::own_output(&solution.stdout_text(), &solution_nonce),
            solution,
            conversation,
        })
    }

    /// Runs `program` on the runner component of its language, or on the command when one of
    /// `sources` imports a module only the command has. Decided before the run from the
    /// sources, never from what a run printed (a guest could print anything).
    async fn run_raw(
        &self,
        language: Language,
        program: &str,
        sources: &[&str],
        stdio: Stdio,
        limits: &Limits,
    ) -> Result<RawRun, CodeError> {
        if let Some(runner) = self.runners.get(&language) {
            let imported: HashSet<&str> = sources
                .iter()
                .flat_map(|source| lang::imported_modules(source))
                .collect();
            let needs_command = if imported.is_empty() {
                false
            } else {
                let command_only = self.command_only(language, runner).await?;
                imported.iter().any(|module| command_only.contains(*module))
            };
            if !needs_command {
                return run::run_component(&self.engine, &runner.pre, program, stdio, limits).await;
            }
            tracing::debug!(%language, "a module only the command has is imported; running on the command");
        }
        let pre = self.commands.get(&language).ok_or(CodeError::NoImage(language))?;
        run::run(&self.engine, pre, &lang::argv(language, program), stdio, limits).await
    }

    /// The top-level modules the command of `language` imports and its runner does not. Both
    /// lists come from programs of ours, run once: the command's `sys.stdlib_module_names`,
    /// and every module the runner can import (what its snapshot loaded, and the pure-Python
    /// ones it carries).
    async fn command_only<'a>(
        &'a self,
        language: Language,
        runner: &'a Runner,
    ) -> Result<&'a HashSet<String>, CodeError> {
        runner
            .command_only
            .get_or_try_init(|| async {
                let limits = Limits::defaults(&self.maxima);
                let list = "import sys\nprint('\\n'.join(sorted(sys.stdlib_module_names)))";
                let pre = self.commands.get(&language).ok_or(CodeError::NoImage(language))?;
                let raw = run::run(
                    &self.engine,
                    pre,
                    &lang::argv(language, list),
                    Stdio::new(Vec::new(), &limits),
                    &limits,
                )
                .await?;
                let command = module_list(language, "command", raw)?;
                let probe = format!(
                    "import importlib.util, sys\nfor name in {names:?}.split():\n    try:\n        \
                     found = name in sys.modules or importlib.util.find_spec(name) is not None\n    \
                     except Exception:\n        found = False\n    if found:\n        print(name)\n",
                    names = command.iter().cloned().collect::<Vec<_>>().join(" "),
                );
                let raw = run::run_component(
                    &self.engine,
                    &runner.pre,
                    &probe,
                    Stdio::new(Vec::new(), &limits),
                    &limits,
                )
                .await?;
                let in_runner = module_list(language, "runner", raw)?;
                Ok::<HashSet<String>, CodeError>(command.difference(&in_runner).cloned().collect())
            })
            .await
    }
}

/// The names a module-listing program of ours printed, one per line.
fn module_list(language: Language, what: &str, raw: RawRun) -> Result<HashSet<String>, CodeError> {
    let outcome = classify(language, raw);
    if outcome.status != RunStatus::Ok {
        return Err(CodeError::Fallback(format!(
            "listing the {language} {what}'s modules ended as {:?}: {}",
            outcome.status,
            outcome.stderr_text()
        )));
    }
    Ok(String::from_utf8_lossy(&outcome.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

/// 160 random bits as hex (two ULIDs' random parts, from the OS generator); a guest cannot
/// predict it.
pub(crate) fn new_nonce() -> String {
    format!(
        "{:020x}{:020x}",
        ulid::Ulid::new().random(),
        ulid::Ulid::new().random()
    )
}

fn build_engine(config: &SandboxConfig, data_dir: &Path) -> Result<Engine, CodeError> {
    // Two instances per run slot: an assert-based test runs its judge and its solution at once.
    let slots = u32::try_from(config.max_concurrent_runs.max(1))
        .unwrap_or(u32::MAX)
        .saturating_mul(INSTANCES_PER_RUN);
    // Every slot may hold a runner component, which instantiates many core modules; slots are
    // virtual address space reserved up front, committed only when used.
    let core_slots = slots.saturating_mul(CORE_INSTANCES_PER_RUNNER);
    let memory = usize::try_from(config.maxima.memory_bytes).unwrap_or(usize::MAX);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .total_core_instances(core_slots)
        .total_memories(core_slots)
        .total_tables(core_slots)
        .total_stacks(slots)
        .max_core_instances_per_component(CORE_INSTANCES_PER_RUNNER)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .max_memory_size(memory)
        .table_elements(20_000);

    let mut cache = CacheConfig::new();
    cache.with_directory(data_dir.join("modules"));
    let cache = Cache::new(cache).map_err(|e| CodeError::wasmtime("cannot set up the module cache", e))?;

    let mut wasm = Config::new();
    wasm.cranelift_opt_level(OptLevel::Speed)
        .epoch_interruption(true)
        .consume_fuel(config.count_fuel)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(MAX_WASM_STACK + (1 << 20))
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .cache(Some(cache));
    Engine::new(&wasm).map_err(|e| CodeError::wasmtime("cannot build the wasmtime engine", e))
}

/// Turns what the engine saw into the status taxonomy. Precedence: a limit that was hit
/// (output, then memory, then time) explains whatever failure followed it, so it wins over
/// the exit code; then a clean exit; then a compile error; anything else is a runtime error.
fn classify(language: Language, raw: RawRun) -> RunOutcome {
    let (exit_code, trap) = match &raw.exit {
        Exit::Code(code) => (Some(*code), None),
        // As `python -c` exits on a program that does not compile.
        Exit::CompileError => (Some(1), None),
        Exit::Trap(message) => (None, Some(message.clone())),
        Exit::Timeout => (None, None),
    };
    let status = if raw.stdout_truncated || raw.stderr_truncated {
        RunStatus::OutputLimitExceeded
    } else if raw.memory_refused {
        RunStatus::MemoryLimitExceeded
    } else {
        match raw.exit {
            Exit::Timeout => RunStatus::TimeLimitExceeded,
            Exit::CompileError => RunStatus::CompileError,
            Exit::Code(0) => RunStatus::Ok,
            Exit::Code(code)
                if lang::is_compile_error(language, code, &String::from_utf8_lossy(&raw.stderr)) =>
            {
                RunStatus::CompileError
            }
            Exit::Code(_) | Exit::Trap(_) => RunStatus::RuntimeError,
        }
    };
    RunOutcome {
        status,
        exit_code,
        stdout: raw.stdout,
        stderr: raw.stderr,
        time_ms: raw.elapsed.as_secs_f64() * 1e3,
        fuel: raw.fuel,
        stdout_truncated: raw.stdout_truncated,
        stderr_truncated: raw.stderr_truncated,
        trap,
    }
}

/// Increments the engine's epoch every tick on a plain thread (not a tokio task, so it keeps
/// ticking when every worker is busy and works across runtimes); stopped on drop.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> std::io::Result<Ticker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("verdict-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(exit: Exit) -> RawRun {
        RawRun {
            exit,
            stdout: Vec::new(),
            stderr: Vec::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            memory_refused: false,
            elapsed: Duration::from_millis(3),
            fuel: None,
        }
    }

    #[test]
    fn the_sandbox_can_be_shared_across_tasks() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Sandbox>();
    }

    #[test]
    fn a_hit_limit_explains_the_failure_that_followed_it() {
        let mut run = raw(Exit::Code(1));
        run.memory_refused = true;
        assert_eq!(
            classify(Language::Python, run).status,
            RunStatus::MemoryLimitExceeded
        );
        let mut run = raw(Exit::Timeout);
        run.memory_refused = true;
        run.stderr_truncated = true;
        assert_eq!(
            classify(Language::Python, run).status,
            RunStatus::OutputLimitExceeded
        );
        assert_eq!(
            classify(Language::Python, raw(Exit::Timeout)).status,
            RunStatus::TimeLimitExceeded
        );
    }

    #[test]
    fn exits_and_traps() {
        let ok = classify(Language::JavaScript, raw(Exit::Code(0)));
        assert_eq!((ok.status, ok.exit_code, ok.trap), (RunStatus::Ok, Some(0), None));
        let trap = classify(
            Language::Python,
            raw(Exit::Trap("wasm trap: call stack exhausted".into())),
        );
        assert_eq!((trap.status, trap.exit_code), (RunStatus::RuntimeError, None));
        assert!(trap.trap.is_some());
        let mut syntax = raw(Exit::Code(1));
        syntax.stderr =
            b"  File \"<string>\", line 1\n    (\n    ^\nSyntaxError: '(' was never closed\n".to_vec();
        assert_eq!(classify(Language::Python, syntax).status, RunStatus::CompileError);
    }
}
