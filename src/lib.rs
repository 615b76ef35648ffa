//! onlooker: what a cloud vision service learns from your photos, shown on
//! your own machine. See ARCHITECTURE.md for the modules and the data flow.

pub mod align;
pub mod attributes;
pub mod batch;
pub mod bench;
pub mod cloud;
pub mod countries;
pub mod doubts;
pub mod error;
pub mod exif;
pub mod face;
pub mod find;
pub mod findings;
pub mod gazetteer;
pub mod geometry;
pub mod identity;
pub mod imageio;
pub mod manifest;
pub mod merge;
pub mod objects;
pub mod pipeline;
pub mod preprocess;
pub mod probe;
pub mod projection;
pub mod report;
pub mod result;
pub mod run;
pub mod runtime;
pub mod scrub;
pub mod serve;
pub mod shard;
pub mod stream;
pub mod tags;
pub mod text;
pub mod video;

pub use error::{ImageError, SetupError};
pub use pipeline::{Analyzer, Options};
pub use result::ImageResult;
pub use runtime::Runtime;
