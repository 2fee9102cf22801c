//! Reading `report.json` back: the one entry point for tools that consume reports.

use std::path::{Path, PathBuf};

use crate::model::{Report, SCHEMA_VERSION};

/// A report could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("reading {path} failed: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not a report of a schema version this crate knows.
    #[error("{path} is not a valid report: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The report was written by a newer suite whose schema this crate does not understand.
    #[error("{path} has schema_version {found}; this reader understands up to {SCHEMA_VERSION}")]
    UnsupportedSchema { path: PathBuf, found: u64 },
}

/// Reads and parses a `report.json` written by [`crate::render::json`].
///
/// The schema version is checked before the rest of the document, so a report from a newer suite is refused
/// with [`ReadError::UnsupportedSchema`] rather than a confusing field error.
pub fn read_json(path: impl AsRef<Path>) -> Result<Report, ReadError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_json(&text).map_err(|e| e.at(path))
}

/// Parses the text of a `report.json` (see [`read_json`]). Errors name the path `<string>`.
pub fn parse_json(text: &str) -> Result<Report, ReadError> {
    let json_err = |source| ReadError::Json {
        path: PathBuf::from("<string>"),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_err)?;
    if let Some(found) = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        if found > u64::from(SCHEMA_VERSION) {
            return Err(ReadError::UnsupportedSchema {
                path: PathBuf::from("<string>"),
                found,
            });
        }
    }
    serde_json::from_value(value).map_err(json_err)
}

impl ReadError {
    fn at(self, at: &Path) -> Self {
        let path = at.to_owned();
        match self {
            ReadError::Io { source, .. } => ReadError::Io { path, source },
            ReadError::Json { source, .. } => ReadError::Json { path, source },
            ReadError::UnsupportedSchema { found, .. } => {
                ReadError::UnsupportedSchema { path, found }
            }
        }
    }
}
