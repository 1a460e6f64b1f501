//! Building the pre-initialised Python runner component (decision record 002).
//!
//! componentize-py runs `sandbox-images/python/app.py` inside its own CPython-for-WASI at build
//! time and snapshots the interpreter after the app's imports, so every fresh instance starts
//! with the standard library already loaded (~2 ms instead of ~50 ms for python.wasm). The tool
//! is a pinned, checksum-verified wheel run by the host's `python3`; the sources are compiled
//! into this binary. Builds are not byte-reproducible, so the output folder is named by a hash
//! of everything that goes in (tool wheel, app, WIT, world), and the output's own sha256 is
//! recorded beside it when built and checked on every load: a changed file is a hard error
//! naming it, as for fetched images.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::images::{self, ImageStore, RunnerSpec};
use super::{CodeError, Language};

const PYTHON_APP: &str = include_str!("../../sandbox-images/python/app.py");
const PYTHON_WIT: &str = include_str!("../../sandbox-images/python/wit/runner.wit");
/// The test driver, imported (so compiled) when the runner is built.
pub const PYTHON_HARNESS: &str = include_str!("../../sandbox-images/python/verdict_harness.py");

/// A verified runner component, read into memory.
#[derive(Debug, Clone)]
pub struct RunnerFile {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// The runner for `language`, if the manifest has one: built on first use, verified after.
pub fn load_runner(
    images: &ImageStore,
    language: Language,
    python: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<Option<RunnerFile>, CodeError> {
    let Some(spec) = images::manifest()?.runner.iter().find(|r| r.language == language) else {
        return Ok(None);
    };
    let tool_sha256 = &images::manifest()?
        .image
        .iter()
        .find(|image| image.name == spec.tool)
        .ok_or_else(|| CodeError::Manifest(format!("no image is named {}", spec.tool)))?
        .sha256;
    let dir = images
        .dir()
        .join(format!("{}-{}", spec.name, &input_key(spec, tool_sha256)[..16]));
    let output = dir.join(format!("{}.wasm", spec.name));
    let recorded = dir.join(format!("{}.wasm.sha256", spec.name));
    if !recorded.exists() {
        let tool_dir = images.image_dir(&spec.tool, progress)?;
        build(spec, &tool_dir, &dir, &output, &recorded, python, progress)?;
    }
    let expected = String::from_utf8_lossy(&images::read(&recorded)?)
        .trim()
        .to_owned();
    let bytes = images::read(&output)?;
    images::verify(&output, &bytes, &expected)?;
    Ok(Some(RunnerFile {
        path: output,
        sha256: expected,
        bytes,
    }))
}

/// A hash over every input of the build, so a new tool, app or WIT gets a new folder.
fn input_key(spec: &RunnerSpec, tool_sha256: &str) -> String {
    let mut inputs = Vec::new();
    for part in [tool_sha256, &spec.world, PYTHON_APP, PYTHON_WIT, PYTHON_HARNESS] {
        inputs.extend_from_slice(&(part.len() as u64).to_le_bytes());
        inputs.extend_from_slice(part.as_bytes());
    }
    images::sha256_hex(&inputs)
}

fn build(
    spec: &RunnerSpec,
    tool_dir: &Path,
    dir: &Path,
    output: &Path,
    recorded: &Path,
    python: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(), CodeError> {
    progress(&format!(
        "building the {} component with {} (about 10 s, once)",
        spec.name, spec.tool
    ));
    let started = Instant::now();
    images::create_dir(dir)?;
    // Sources and the half-built output live in a private folder until verified and renamed.
    let work = dir.join(format!(
        ".build-{}-{}",
        std::process::id(),
        images::unique_suffix()
    ));
    let result = build_in(spec, tool_dir, &work, python).and_then(|built| {
        let bytes = images::read(&built)?;
        let sha256 = images::sha256_hex(&bytes);
        images::write_atomic(output, &bytes)?;
        // Written last: its presence means the output is complete.
        images::write_atomic(recorded, format!("{sha256}\n").as_bytes())?;
        Ok(sha256)
    });
    let _ = fs::remove_dir_all(&work);
    let sha256 = result?;
    tracing::info!(
        runner = %spec.name,
        %sha256,
        seconds = started.elapsed().as_secs_f64(),
        "built sandbox runner component"
    );
    Ok(())
}

fn build_in(spec: &RunnerSpec, tool_dir: &Path, work: &Path, python: &str) -> Result<PathBuf, CodeError> {
    let wit = work.join("wit");
    images::create_dir(&wit)?;
    let write = |path: PathBuf, text: &str| {
        fs::write(&path, text).map_err(|e| images::io_error("cannot write", &path, e))
    };
    write(work.join("app.py"), PYTHON_APP)?;
    write(work.join("verdict_harness.py"), PYTHON_HARNESS)?;
    write(wit.join("runner.wit"), PYTHON_WIT)?;
    let built = work.join("out.wasm");
    let tool_dir =
        std::path::absolute(tool_dir).map_err(|e| images::io_error("cannot resolve", tool_dir, e))?;
    // The tool's folder goes first on the path, so the pinned, verified wheel is what runs,
    // never another componentize-py installed on the host. `-I` keeps the host environment
    // (PYTHONPATH, user site) out of it.
    let launcher = "import sys; sys.path.insert(0, sys.argv.pop(1)); \
                    import componentize_py; componentize_py.script()";
    let run = Command::new(python)
        .current_dir(work)
        .args(["-I", "-c", launcher])
        .arg(&tool_dir)
        .args(["-d", "wit", "-w", &spec.world, "componentize", "app", "-o"])
        .arg(&built)
        .output()
        .map_err(|e| build_error(spec, format!("cannot run `{python}`: {e}")))?;
    if !run.status.success() || !built.exists() {
        let stderr = String::from_utf8_lossy(&run.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(build_error(
            spec,
            format!("{} ({})", tail.join(" / "), run.status),
        ));
    }
    Ok(built)
}

fn build_error(spec: &RunnerSpec, message: String) -> CodeError {
    CodeError::Build {
        runner: spec.name.clone(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RunnerSpec {
        images::manifest().unwrap().runner[0].clone()
    }

    #[test]
    fn the_input_key_changes_with_every_input() {
        let base = input_key(&spec(), "a");
        assert_ne!(base, input_key(&spec(), "b"));
        let mut other_world = spec();
        other_world.world.push('x');
        assert_ne!(base, input_key(&other_world, "a"));
        assert_eq!(base, input_key(&spec(), "a"));
    }

    #[test]
    fn a_tampered_runner_is_a_hard_error_naming_it() {
        let data = tempfile::tempdir().unwrap();
        let store = ImageStore::new(data.path()).with_pip("/nonexistent/pip");
        let spec = spec();
        let tool_sha256 = &images::manifest()
            .unwrap()
            .image
            .iter()
            .find(|i| i.name == spec.tool)
            .unwrap()
            .sha256;
        let dir = store
            .dir()
            .join(format!("{}-{}", spec.name, &input_key(&spec, tool_sha256)[..16]));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("python-runner.wasm"), b"changed").unwrap();
        fs::write(
            dir.join("python-runner.wasm.sha256"),
            images::sha256_hex(b"original"),
        )
        .unwrap();
        let err = load_runner(&store, Language::Python, "python3", &mut |_| {}).unwrap_err();
        match err {
            CodeError::Checksum { file, .. } => assert!(file.ends_with("python-runner.wasm"), "{file}"),
            other => panic!("expected a checksum error, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_python_is_a_build_error_naming_the_runner() {
        let data = tempfile::tempdir().unwrap();
        let spec = spec();
        let err = build_in(
            &spec,
            data.path(),
            &data.path().join("work"),
            "/nonexistent/python3",
        )
        .unwrap_err();
        assert!(
            matches!(&err, CodeError::Build { runner, .. } if runner == "python-runner"),
            "{err:?}"
        );
    }
}
