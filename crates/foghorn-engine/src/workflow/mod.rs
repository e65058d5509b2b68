//! Workflows: which notifications an event becomes.
//!
//! A workflow document is TOML in `workflows/*.toml`, the same document as
//! JSON through the API. Documents are compiled once (templates parsed,
//! conditions checked) into a [`CompiledWorkflow`], so a bad template is an
//! error when the workflow is saved, not when a message is due.

pub mod card;
mod document;
pub mod noise;
mod pack;
mod registry;
mod render;
pub mod series;
pub mod system;

pub use document::{
    valid_channel_id, valid_destination_name, valid_mention, Escalate, Step, Workflow,
};
pub use registry::{CompiledWorkflow, Registry, Resolve, Source};
pub use render::{EventFacts, RenderContext};
pub use system::is_system;

pub use pack::samples_json;

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    /// A setting the API can name as the offending field.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("step {step} ({channel}): {message}")]
    Step {
        step: usize,
        channel: String,
        message: String,
    },
    #[error("template `{name}`: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("cannot read {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
