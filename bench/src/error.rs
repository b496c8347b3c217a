//! The crate's one error type.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("trace line {line}: {why}")]
    Trace { line: usize, why: String },
    #[error("policy config {path}: {why}")]
    Config { path: String, why: String },
    #[error("job {path}: {why}")]
    Job { path: String, why: String },
    #[error("{0}")]
    Run(String),
    #[error(transparent)]
    Policy(#[from] stratum_tiering::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}
