//! The reward/accuracy curve PNG. plotters is built without its font backends (they need
//! system libraries), so the chart has no text: the legend is in the file's companion
//! documentation — blue: mean training reward per step (scaled to the reward range); green:
//! training accuracy; red dots: held-out accuracy. The y range is [0, max(2, max reward)].

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use serde_json::Value;

pub fn plot_metrics(metrics: &Path, png: &Path) -> Result<()> {
    let text = std::fs::read_to_string(metrics)?;
    let rows: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let series = |key: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .filter_map(|r| Some((r["step"].as_f64()?, r[key].as_f64()?)))
            .collect()
    };
    let reward = series("reward_mean");
    let acc = series("accuracy");
    let eval = series("eval_accuracy");
    let max_step = rows.iter().filter_map(|r| r["step"].as_f64()).fold(1.0, f64::max);
    let y_max = reward.iter().map(|p| p.1).fold(2.0, f64::max);
    let root = BitMapBackend::new(png, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    let area = root.margin(20, 20, 20, 20);
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d(0f64..max_step, 0f64..y_max)
        .map_err(|e| anyhow!("plot: {e}"))?;
    // Grid: a line every 0.25 of the y range and every tenth of the steps, drawn as series
    // because mesh labels would need a font.
    let grid = RGBColor(225, 225, 225);
    for i in 0..=4 {
        let y = y_max * i as f64 / 4.0;
        chart
            .draw_series(LineSeries::new([(0.0, y), (max_step, y)], grid))
            .map_err(|e| anyhow!("plot: {e}"))?;
    }
    for i in 0..=10 {
        let x = max_step * i as f64 / 10.0;
        chart
            .draw_series(LineSeries::new([(x, 0.0), (x, y_max)], grid))
            .map_err(|e| anyhow!("plot: {e}"))?;
    }
    // Accuracies are in [0, 1]; they are drawn on the reward axis scaled by 1 (a reward of 1
    // is one correct answer under the r1 policy), so both read against the same grid.
    chart
        .draw_series(LineSeries::new(reward, BLUE.stroke_width(2)))
        .map_err(|e| anyhow!("plot: {e}"))?;
    chart
        .draw_series(LineSeries::new(acc, GREEN.stroke_width(2)))
        .map_err(|e| anyhow!("plot: {e}"))?;
    chart
        .draw_series(eval.iter().map(|p| Circle::new(*p, 5, RED.filled())))
        .map_err(|e| anyhow!("plot: {e}"))?;
    root.present().map_err(|e| anyhow!("plot: {e}"))?;
    Ok(())
}
