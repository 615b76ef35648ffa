//! "As the cloud returns it": one image's results in the response shapes
//! of AWS Rekognition, Google Cloud Vision and Azure (AI Vision Image
//! Analysis 4.0 and Face), built from the typed [`ImageResult`]. Fields
//! onlooker cannot compute are left out, never invented; every rule that
//! turns one of our numbers into one of theirs is in [`rules`], and listed
//! in README.md ("As the cloud returns it").

pub mod aws;
pub mod azure;
pub mod google;
pub mod rules;

use schemars::JsonSchema;
use serde::Serialize;

use crate::result::ImageResult;

/// The provider whose response shape `--as` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Aws,
    Azure,
    Google,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Aws, Provider::Azure, Provider::Google];

    /// The name `--as` takes.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Google => "google",
        }
    }

    /// What the provider's response is, for people.
    pub fn title(self) -> &'static str {
        match self {
            Provider::Aws => "AWS Rekognition (DetectFaces, DetectLabels, DetectText)",
            Provider::Azure => "Azure AI Vision analyze and Azure Face detect",
            Provider::Google => "Google Cloud Vision (AnnotateImageResponse)",
        }
    }
}

/// Where a report folder keeps the `--as` document of `p`.
pub fn file_name(p: Provider) -> String {
    format!("{FOLDER}/{}.json", p.name())
}

/// The report folder's subfolder of `--as` documents.
pub const FOLDER: &str = "cloud";

/// One image's response in a provider's shape.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Response {
    Aws(aws::Responses),
    Azure(azure::Responses),
    Google(google::AnnotateImageResponse),
}

/// One entry of `images[]` in a `--as` document.
#[derive(Debug, Clone, Serialize)]
pub struct CloudImage<'a> {
    pub path: &'a str,
    pub error: Option<&'a str>,
    /// Absent when the image could not be analysed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Response>,
}

/// The `--json` document under `--as`.
#[derive(Debug, Clone, Serialize)]
pub struct CloudDocument<'a> {
    pub provider: Provider,
    /// What the document is and is not.
    pub note: &'static str,
    pub images: Vec<CloudImage<'a>>,
}

pub const NOTE: &str = "onlooker's findings, computed on this computer, in the response shape the provider's API documents; fields onlooker cannot compute are left out, never invented (see README, \"As the cloud returns it\")";

/// The response of `r` as `provider` shapes it.
pub fn response(provider: Provider, r: &ImageResult) -> Response {
    match provider {
        Provider::Aws => Response::Aws(aws::responses(r)),
        Provider::Azure => Response::Azure(azure::responses(r)),
        Provider::Google => Response::Google(google::annotate(r)),
    }
}

/// The `--as` document of `results`.
pub fn document(provider: Provider, results: &[ImageResult]) -> CloudDocument<'_> {
    CloudDocument {
        provider,
        note: NOTE,
        images: results
            .iter()
            .map(|r| CloudImage {
                path: &r.path,
                error: r.error.as_deref(),
                response: r.error.is_none().then(|| response(provider, r)),
            })
            .collect(),
    }
}
