//! A monitoring report in words: as `dslp monitor` prints it, and as the
//! issue it opens shows it (a table and a Mermaid chart of each feature's
//! PSI, rendered by GitHub with no image host).

use crate::lifecycle::metric::format_metric;
use crate::model::monitor::{self, Level, Limits, MonitorReport};

fn word(level: Level) -> &'static str {
    match level {
        Level::Ok => "ok",
        Level::Warn => "WARN",
        Level::Fail => "FAIL",
    }
}

fn drift_line(row: &monitor::Drifted) -> String {
    let ks = row
        .drift
        .ks
        .map_or(String::new(), |k| format!("  KS {k:.3}"));
    let new = match row.drift.new_levels.len() {
        0 => String::new(),
        n => format!(
            "  {n} new level{}: {}",
            if n == 1 { "" } else { "s" },
            row.drift.new_levels.join(", ")
        ),
    };
    format!(
        "  {:<4} {:<24} PSI {:.3}{ks}{new}\n",
        word(row.level),
        row.name,
        row.drift.psi
    )
}

/// The report as `dslp monitor` prints it.
pub fn text(report: &MonitorReport, limits: &Limits) -> String {
    let mut out = format!(
        "monitor {}: {} fresh rows against the model's reference profile\n",
        report.model, report.rows
    );
    out.push_str(&format!(
        "input drift: {} (PSI warn above {}, fail above {})\n",
        word(report.input_drift),
        limits.psi_warn,
        limits.psi_fail
    ));
    for row in &report.features {
        out.push_str(&drift_line(row));
    }
    if let Some(scores) = &report.predictions {
        out.push_str("prediction drift (the model's scores; not a cause on its own):\n");
        out.push_str(&drift_line(scores));
    }
    if !report.metrics.is_empty() {
        out.push_str(&format!("performance: {}\n", word(report.performance_drop)));
        // The task's headline metrics and any with a limit; JSON has them all.
        for m in report.metrics.iter().filter(|m| shown(&m.metric, limits)) {
            out.push_str(&format!(
                "  {:<4} {:<24} released {:>8}  now {:>8}\n",
                word(m.level),
                m.metric,
                format_metric(m.released),
                format_metric(m.now)
            ));
        }
    }
    let next = match (report.input_drift, report.performance_drop) {
        (_, Level::Fail) => {
            "next: open a retrain issue linked to the Ask (the model no longer meets its release's metrics)"
        }
        (Level::Fail, _) => "next: open a Data issue for the drifted inputs",
        (Level::Warn, _) => {
            "next: nothing yet; the warned features moved past the warning limit, watch them"
        }
        _ => "next: nothing; within limits",
    };
    out.push_str(next);
    out.push('\n');
    out
}

/// The task's headline metrics, and any with a limit.
fn shown(metric: &str, limits: &Limits) -> bool {
    const HEADLINE: [&str; 7] = [
        "roc_auc",
        "roc_auc_ovr",
        "accuracy",
        "f1",
        "log_loss",
        "r2",
        "rmse",
    ];
    HEADLINE.contains(&metric) || limits.drops.contains_key(metric)
}

/// The evidence in Markdown, for the issue monitoring opens or updates.
pub fn markdown(report: &MonitorReport, limits: &Limits) -> String {
    let mut out = format!(
        "{} fresh rows against the release's reference profile (PSI warns above {}, fails above {}{}).\n\n",
        report.rows,
        limits.psi_warn,
        limits.psi_fail,
        limits
            .ks_fail
            .map_or(String::new(), |k| format!("; KS fails above {k}"))
    );
    out.push_str("| feature | PSI | KS | new levels | |\n|---|---|---|---|---|\n");
    let rows = report.features.iter().chain(report.predictions.as_ref());
    for row in rows {
        out.push_str(&format!(
            "| {} | {:.3} | {} | {} | {} |\n",
            row.name,
            row.drift.psi,
            row.drift.ks.map_or("–".into(), |k| format!("{k:.3}")),
            match row.drift.new_levels.is_empty() {
                true => "–".to_string(),
                false => row.drift.new_levels.join(", "),
            },
            word(row.level)
        ));
    }
    if !report.features.is_empty() {
        out.push_str(&psi_chart(report, limits));
    }
    if !report.metrics.is_empty() {
        out.push_str("\n| metric | released | now | |\n|---|---|---|---|\n");
        // The task's headline metrics and those with a limit.
        for m in report.metrics.iter().filter(|m| shown(&m.metric, limits)) {
            let limited = limits.drops.contains_key(&m.metric);
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                m.metric,
                format_metric(m.released),
                format_metric(m.now),
                if limited { word(m.level) } else { "no limit" }
            ));
        }
    }
    out
}

/// Each feature's PSI as a Mermaid bar chart, with the fail limit as a line.
fn psi_chart(report: &MonitorReport, limits: &Limits) -> String {
    let names: Vec<String> = report
        .features
        .iter()
        .map(|f| format!("\"{}\"", f.name.replace('"', "'")))
        .collect();
    let values: Vec<String> = report
        .features
        .iter()
        .map(|f| format!("{:.3}", f.drift.psi))
        .collect();
    let top = report
        .features
        .iter()
        .map(|f| f.drift.psi)
        .fold(limits.psi_fail, f64::max)
        * 1.1;
    let fail = vec![format!("{:.3}", limits.psi_fail); names.len()];
    format!(
        "\n```mermaid\nxychart-beta\n    title \"PSI per feature (line: fail limit)\"\n    x-axis [{}]\n    y-axis \"PSI\" 0 --> {top:.2}\n    bar [{}]\n    line [{}]\n```\n",
        names.join(", "),
        values.join(", "),
        fail.join(", ")
    )
}
