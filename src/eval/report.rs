//! `verdict eval-report`: a run's metrics as a text table and as an SVG bar chart (the PNG
//! twin is in `raster.rs`). The chart is written by hand (a few rectangles and labels) rather
//! than with a plotting crate: it needs no fonts or native libraries.

use std::fmt::Write as _;

use super::Metrics;
use super::load::RunMetrics;

/// The table: one row for the run and one per label value, a column group per `k`.
pub fn table(report: &RunMetrics) -> String {
    let mut out = String::new();
    let ks: Vec<u64> = report.overall.at_k.iter().map(|a| a.k).collect();
    let _ = write!(
        out,
        "{:<36} {:>8} {:>8} {:>8}",
        "run / breakdown", "problems", "samples", "acc"
    );
    for k in &ks {
        let _ = write!(
            out,
            " {:>9} {:>9} {:>9}",
            format!("pass@{k}"),
            format!("mean@{k}"),
            format!("maj@{k}")
        );
    }
    out.push('\n');
    row(&mut out, &report.run_id, &report.overall);
    for (field, values) in &report.by {
        for (value, metrics) in values {
            row(&mut out, &format!("  {field}={value}"), metrics);
        }
    }
    out
}

fn row(out: &mut String, label: &str, metrics: &Metrics) {
    let label: String = label.chars().take(36).collect();
    let _ = write!(
        out,
        "{label:<36} {:>8} {:>8} {:>8.3}",
        metrics.problems, metrics.samples, metrics.accuracy
    );
    for at in &metrics.at_k {
        for value in [at.pass_at_k, at.mean_at_k, at.majority_at_k] {
            let _ = match value {
                Some(value) => write!(out, " {value:>9.3}"),
                None => write!(out, " {:>9}", "-"),
            };
        }
    }
    out.push('\n');
}

/// The chart's bar groups: the run, then each value of the first breakdown field (subject
/// when present), with that field's name.
pub(super) fn chart_groups(report: &RunMetrics) -> (Option<&str>, Vec<(String, &Metrics)>) {
    let field = report
        .by
        .get("subject")
        .map(|values| ("subject", values))
        .or_else(|| report.by.iter().next().map(|(f, v)| (f.as_str(), v)));
    let mut groups: Vec<(String, &Metrics)> = vec![("overall".to_owned(), &report.overall)];
    if let Some((_, values)) = field {
        groups.extend(values.iter().map(|(value, metrics)| (value.clone(), metrics)));
    }
    (field.map(|(name, _)| name), groups)
}

/// The `k` the chart shows: the largest asked for.
pub(super) fn largest_k(report: &RunMetrics) -> u64 {
    report.overall.at_k.last().map_or(1, |a| a.k)
}

/// pass@k, mean@k and majority@k of the largest `k`, as the chart's three series.
pub(super) fn values_at(metrics: &Metrics) -> [Option<f64>; 3] {
    let at = metrics.at_k.last();
    [
        at.and_then(|a| a.pass_at_k),
        at.and_then(|a| a.mean_at_k),
        at.and_then(|a| a.majority_at_k),
    ]
}

/// A grouped bar chart: for the run and each value of the first breakdown field (subject
/// when present), pass@k, mean@k and majority@k of the largest `k`.
pub fn svg(report: &RunMetrics) -> String {
    let (field, groups) = chart_groups(report);
    let (bar, gap, left, top, height) = (14.0, 18.0, 50.0, 40.0, 220.0);
    let width = left + groups.len() as f64 * (3.0 * bar + gap) + 20.0;
    let k = largest_k(report);
    let colours = ["#1f5fa8", "#2f6f3e", "#8a5a00"];
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0}' height='{:.0}' font-family='sans-serif' font-size='11'>\
         <rect width='100%' height='100%' fill='white'/>\
         <text x='{left}' y='18' font-size='14'>{} — pass@{k}, mean@{k}, majority@{k}{}</text>",
        top + height + 110.0,
        escape(&report.run_id),
        field.map(|f| format!(" by {f}")).unwrap_or_default(),
    );
    for tick in 0..=4 {
        let value = f64::from(tick) / 4.0;
        let y = top + height * (1.0 - value);
        let _ = write!(
            out,
            "<line x1='{left}' x2='{:.0}' y1='{y:.1}' y2='{y:.1}' stroke='#ddd'/><text x='{:.0}' y='{:.1}' text-anchor='end'>{value:.2}</text>",
            width - 10.0,
            left - 6.0,
            y + 4.0
        );
    }
    for (index, (label, metrics)) in groups.iter().enumerate() {
        let x0 = left + index as f64 * (3.0 * bar + gap) + gap / 2.0;
        for (series, value) in values_at(metrics).into_iter().enumerate() {
            let value = value.unwrap_or(0.0).clamp(0.0, 1.0);
            let h = height * value;
            let _ = write!(
                out,
                "<rect x='{:.1}' y='{:.1}' width='{bar}' height='{h:.1}' fill='{}'><title>{}: {value:.3}</title></rect>",
                x0 + series as f64 * bar,
                top + height - h,
                colours[series],
                escape(label)
            );
        }
        let lx = x0 + 1.5 * bar;
        let ly = top + height + 12.0;
        let _ = write!(
            out,
            "<text x='{lx:.1}' y='{ly:.1}' transform='rotate(45 {lx:.1} {ly:.1})'>{}</text>",
            escape(&label.chars().take(24).collect::<String>())
        );
    }
    for (series, name) in ["pass", "mean", "majority"].iter().enumerate() {
        let x = left + series as f64 * 90.0;
        let _ = write!(
            out,
            "<rect x='{x}' y='26' width='10' height='10' fill='{}'/><text x='{:.0}' y='35'>{name}@{k}</text>",
            colours[series],
            x + 14.0
        );
    }
    out.push_str("</svg>\n");
    out
}

fn escape(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::eval::{Sample, metrics};

    #[test]
    fn the_table_and_chart_show_every_breakdown_value() {
        let right = Sample {
            success: true,
            cluster: Some(0),
        };
        let samples = vec![right.clone(), right];
        let m = metrics([samples.as_slice()], &[1, 2]);
        let mut subjects = BTreeMap::new();
        subjects.insert("Algebra".to_owned(), m.clone());
        subjects.insert("Geometry <hard>".to_owned(), m.clone());
        let mut by = BTreeMap::new();
        by.insert("subject".to_owned(), subjects);
        let report = RunMetrics {
            run_id: "r".into(),
            overall: m,
            by,
        };
        let text = table(&report);
        assert!(
            text.contains("pass@2") && text.contains("subject=Algebra"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4);
        let svg = svg(&report);
        assert!(svg.starts_with("<svg") && svg.contains("Geometry &lt;hard&gt;"));
        assert_eq!(
            svg.matches("<rect x=").count(),
            3 * 3 + 3,
            "three bars per group and a legend"
        );
    }
}
