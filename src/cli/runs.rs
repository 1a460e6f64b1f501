//! `verdict eval-report` and `verdict reverify`: a stored run evaluated, or judged again.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::store::with_store;
use crate::config::ServerArgs;
use crate::grading::Grader;
use crate::jobs::JobRunner;

/// Where `eval-report` writes its chart; unset paths default to `eval-RUN.{svg,png}`.
pub(super) struct ChartPaths {
    pub(super) svg: Option<PathBuf>,
    pub(super) png: Option<PathBuf>,
}

pub(super) fn eval_report(
    run_id: &str,
    k: &str,
    charts: ChartPaths,
    server: &ServerArgs,
) -> anyhow::Result<()> {
    let ks = crate::wire::parse_ks(k).map_err(|message| anyhow::anyhow!("--k: {message}"))?;
    with_store(server, |store, _| async move {
        let problems = crate::eval::load::problems(&store, run_id).await?;
        anyhow::ensure!(!problems.is_empty(), "no submissions for run `{run_id}`");
        let report = crate::eval::load::run_metrics(run_id, &problems, &ks);
        print!("{}", crate::eval::report::table(&report));
        let svg = charts
            .svg
            .unwrap_or_else(|| PathBuf::from(format!("eval-{run_id}.svg")));
        std::fs::write(&svg, crate::eval::report::svg(&report))
            .with_context(|| format!("cannot write {}", svg.display()))?;
        let png = charts
            .png
            .unwrap_or_else(|| PathBuf::from(format!("eval-{run_id}.png")));
        let image = crate::eval::raster::png(&report).context("cannot encode the PNG chart")?;
        std::fs::write(&png, image).with_context(|| format!("cannot write {}", png.display()))?;
        println!("chart written to {} and {}", svg.display(), png.display());
        Ok(())
    })
}

pub(super) fn reverify(run_id: &str, server: &ServerArgs) -> anyhow::Result<()> {
    with_store(server, |store, config| async move {
        let spool = config.data_dir.join("spool");
        let recorder = crate::store::Recorder::open(store, &spool, config.store_timeout)?;
        let grader = Grader::new(Arc::new(config), recorder);
        let jobs = Arc::new(JobRunner::default());
        let report = jobs
            .run_to_completion(&grader, run_id, |job| {
                eprint!(
                    "\r{}/{} re-checked, {} changed",
                    job.processed, job.total, job.changed
                );
            })
            .await?;
        eprintln!();
        println!(
            "job {}: {} re-checked, {} verdicts changed ({} to failure, {} to success), {} rewards drifted",
            report.job.job_id,
            report.job.processed,
            report.job.changed,
            report.flips_to_failure,
            report.flips_to_success,
            report.job.drifted
        );
        for t in &report.transitions {
            println!("  {} -> {}: {}", t.old_verdict, t.new_verdict, t.count);
        }
        for example in &report.examples {
            println!(
                "  e.g. {} ({}): {} -> {}",
                example.submission_id,
                example.item_id.as_deref().unwrap_or("-"),
                example.old_verdict,
                example.new_verdict
            );
        }
        jobs.stop();
        Ok(())
    })
}
