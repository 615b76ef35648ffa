//! `onlooker find REFERENCE [PATH]...`: one face in a reference photo,
//! every face in an archive ranked by how much it looks like it. This is
//! the "pick one person out of a huge archive" capability, run on the
//! user's own photos.
//!
//! The faces and embeddings come from the analysis pipeline
//! ([`crate::batch::Engine`]) with the attribute and text models off; the
//! ranking is [`identity::find`] with its two verdicts. The result is a
//! typed [`FindDocument`] (`--json`), a ranked list for the terminal, and
//! with `--out` a small report folder (`report/find_page`).

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Serialize, Serializer};

use crate::attributes::AttributeOptions;
use crate::batch::{self, Engine, Input, Plan};
use crate::error::SetupError;
use crate::geometry::BBox;
use crate::identity::{self, Embedding, Verdict};
use crate::imageio::DecodeLimits;
use crate::pipeline::Options;
use crate::report::{self, OutputDir, ReportError};
use crate::result::{ImageResult, SCHEMA_VERSION};
use crate::run::{self, RunError};
use crate::runtime::Runtime;

/// Everything `onlooker find` was asked to do.
#[derive(Debug, Clone)]
pub struct FindConfig {
    /// The photo holding the face to look for.
    pub reference: PathBuf,
    /// Which face of the reference, 1-based in detection order (as
    /// `analyze` numbers them); needed when it has several.
    pub face: Option<usize>,
    /// Files and folders searched; empty means [`run::DEFAULT_INPUT`].
    pub paths: Vec<PathBuf>,
    /// The JSON document (`-` for standard output).
    pub json: Option<PathBuf>,
    /// A report folder with the matched faces beside the reference.
    pub out: Option<PathBuf>,
    /// Write into a non-empty `out` that is not only an earlier report.
    pub force: bool,
    pub quiet: bool,
    pub threads: usize,
    pub limits: DecodeLimits,
}

impl FindConfig {
    pub fn new(reference: PathBuf, paths: Vec<PathBuf>) -> Self {
        FindConfig {
            reference,
            face: None,
            paths,
            json: None,
            out: None,
            force: false,
            quiet: false,
            threads: batch::default_threads(),
            limits: DecodeLimits::default(),
        }
    }

    fn input_paths(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from(run::DEFAULT_INPUT)]
        } else {
            self.paths.clone()
        }
    }

    /// The analysis `find` needs: faces and their embeddings. Objects stay
    /// on: a face outside every detected person is not given an identity
    /// (`identity::Unreliable::NotInPerson`), which keeps animal faces out
    /// of the ranking.
    fn analysis(&self) -> Options {
        Options {
            limits: self.limits,
            attributes: AttributeOptions::NONE,
            text: false,
            identity: true,
            object_tiles: false,
            tags: false,
            ..Options::default()
        }
    }
}

/// The face looked for.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReferenceFace {
    pub path: String,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

/// One face that matches the reference at least "possibly".
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FoundFace {
    pub path: String,
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// Cosine similarity of the two embeddings, -1..1 (three decimals).
    #[serde(serialize_with = "round3")]
    pub similarity: f32,
    pub verdict: Verdict,
}

fn round3<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f32((v * 1000.0).round() / 1000.0)
}

/// What `find --json` writes: matches most similar first.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FindDocument {
    pub version: u32,
    pub reference: ReferenceFace,
    pub matches: Vec<FoundFace>,
}

/// The JSON Schema of [`FindDocument`].
pub fn schema() -> schemars::Schema {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut s = generator.into_root_schema_for::<FindDocument>();
    s.insert("title".into(), "onlooker find document".into());
    s
}

/// What a finished search found, besides the document.
#[derive(Debug)]
pub struct FindOutcome {
    pub document: FindDocument,
    /// Images searched (the reference excluded unless among the paths).
    pub images: usize,
    /// Images that could not be analysed.
    pub failed: usize,
    /// Faces compared with the reference.
    pub compared: usize,
    /// Faces found that could not be compared (no identity, see
    /// `identity::Unreliable`).
    pub not_comparable: usize,
    /// The report's page, when `--out` was given.
    pub report: Option<PathBuf>,
}

impl FindOutcome {
    /// 0 when every image was analysed; 1 when some failed or none was found.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.images == 0 || self.failed > 0)
    }
}

/// Why a search could not run.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("reference {}: {reason}", .path.display())]
    ReferenceUnreadable { path: PathBuf, reason: String },
    #[error("reference {}: no face found; choose a photo in which a face is visible", .path.display())]
    NoFace { path: PathBuf },
    #[error("reference {}: {count} faces found; choose one with --face N:\n{list}", .path.display())]
    SeveralFaces {
        path: PathBuf,
        count: usize,
        list: String,
    },
    #[error("reference {}: --face {face} asked for, but it has {count} face{}", .path.display(), if *.count == 1 { "" } else { "s" })]
    NoSuchFace {
        path: PathBuf,
        face: usize,
        count: usize,
    },
    #[error("reference {} face {face}: cannot be compared: {why}", .path.display())]
    NotComparable {
        path: PathBuf,
        face: usize,
        why: String,
    },
}

impl From<SetupError> for FindError {
    fn from(e: SetupError) -> Self {
        FindError::Run(RunError::Setup(e))
    }
}

impl From<ReportError> for FindError {
    fn from(e: ReportError) -> Self {
        FindError::Run(RunError::Report(e))
    }
}

/// One face of the searched photos that has an embedding.
struct Candidate {
    input: usize,
    path: String,
    bbox: BBox,
    embedding: Embedding,
}

/// Picks the reference face of an analysed reference photo.
fn reference_face(
    cfg: &FindConfig,
    r: &ImageResult,
) -> Result<(usize, BBox, Embedding), FindError> {
    let path = cfg.reference.clone();
    if let Some(e) = &r.error {
        return Err(FindError::ReferenceUnreadable {
            path,
            reason: e.clone(),
        });
    }
    let count = r.faces.len();
    let index = match (cfg.face, count) {
        (_, 0) => return Err(FindError::NoFace { path }),
        (Some(n), _) if n == 0 || n > count => {
            return Err(FindError::NoSuchFace {
                path,
                face: n,
                count,
            })
        }
        (Some(n), _) => n - 1,
        (None, 1) => 0,
        (None, _) => {
            let list = r
                .faces
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    format!(
                        "  face {}: {} px at {}",
                        i + 1,
                        f.size_px,
                        box_text(&f.bbox)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            return Err(FindError::SeveralFaces { path, count, list });
        }
    };
    let f = &r.faces[index];
    match &f.embedding {
        Some(e) => Ok((index, f.bbox, e.clone())),
        None => Err(FindError::NotComparable {
            path,
            face: index + 1,
            why: f
                .identity
                .and_then(|i| i.no_identity)
                .map_or_else(|| "no embedding".to_string(), |u| u.to_string()),
        }),
    }
}

/// `[x, y, w, h]` rounded to whole pixels, for messages.
pub(crate) fn box_text(b: &BBox) -> String {
    format!("[{:.0}, {:.0}, {:.0}, {:.0}]", b.x, b.y, b.w, b.h)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Runs the search `cfg` describes with the runtime `rt`: checks the
/// outputs, finds the reference face, analyses every photo under the
/// paths, ranks their faces, and writes the outputs.
pub fn find(rt: &Runtime, cfg: &FindConfig) -> Result<FindOutcome, FindError> {
    if cfg.threads == 0 {
        return Err(RunError::Usage("--threads must be at least 1".into()).into());
    }
    let paths = cfg.input_paths();
    let mut all_inputs = paths.clone();
    all_inputs.push(cfg.reference.clone());
    for (flag, p) in [("--json", &cfg.json), ("--out", &cfg.out)] {
        if let Some(p) = p {
            run::refuse_output_in_inputs(flag, p, &all_inputs)?;
        }
    }
    // Photos only: faces in videos are not searched yet.
    let (inputs, _videos) = batch::collect_images(&paths);
    let (inputs, _) = report::skip_report_outputs(inputs, &paths);
    let sources: Vec<PathBuf> = inputs
        .iter()
        .map(|i| match i {
            Input::File(p) | Input::Unreadable { path: p, .. } => p.clone(),
        })
        .collect();
    let out_dir = match &cfg.out {
        Some(dir) => {
            let mut checked = sources.clone();
            checked.push(cfg.reference.clone());
            Some(OutputDir::check(dir, cfg.force, &checked)?)
        }
        None => None,
    };

    let engine = Engine::new(
        rt,
        &cfg.analysis(),
        Plan {
            threads: cfg.threads,
            topology: batch::Topology::default(),
        },
    )?;
    let mut reference: Option<ImageResult> = None;
    engine.run(&[Input::File(cfg.reference.clone())], |_, r| {
        reference = Some(r)
    })?;
    let reference = reference.unwrap_or_else(|| ImageResult {
        error: Some("not analysed".into()),
        ..Default::default()
    });
    let (ref_index, ref_box, ref_embedding) = reference_face(cfg, &reference)?;

    let mut candidates: Vec<Candidate> = Vec::new();
    let (mut failed, mut not_comparable) = (0, 0);
    engine.run(&inputs, |i, r| {
        if let Some(e) = &r.error {
            failed += 1;
            eprintln!("{}: {e}", r.path);
            return;
        }
        let is_reference = same_file(&sources[i], &cfg.reference);
        for (fi, f) in r.faces.into_iter().enumerate() {
            if is_reference && fi == ref_index {
                continue;
            }
            match f.embedding {
                Some(embedding) => candidates.push(Candidate {
                    input: i,
                    path: r.path.clone(),
                    bbox: f.bbox,
                    embedding,
                }),
                None => not_comparable += 1,
            }
        }
    })?;
    let embeddings: Vec<Embedding> = candidates.iter().map(|c| c.embedding.clone()).collect();
    let ranked = identity::find(&ref_embedding, &embeddings);
    let document = FindDocument {
        version: SCHEMA_VERSION,
        reference: ReferenceFace {
            path: reference.path.clone(),
            bbox: ref_box,
        },
        matches: ranked
            .iter()
            .map(|m| {
                let c = &candidates[m.index];
                FoundFace {
                    path: c.path.clone(),
                    bbox: c.bbox,
                    similarity: m.similarity,
                    verdict: m.verdict,
                }
            })
            .collect(),
    };

    let json_to_stdout = cfg.json.as_deref() == Some(Path::new("-"));
    if let Some(path) = &cfg.json {
        let text = serde_json::to_string_pretty(&document).map_err(RunError::Json)?;
        if json_to_stdout {
            run::print_stdout(&format!("{text}\n")).map_err(stdout_error)?;
        } else {
            report::write_atomic(path, text.as_bytes()).map_err(|source| RunError::Write {
                what: path.display().to_string(),
                source,
            })?;
        }
    }
    let report = match &out_dir {
        Some(out) => {
            // Where each match's pixels are: its file, as collected.
            let match_sources: Vec<PathBuf> = ranked
                .iter()
                .map(|m| sources[candidates[m.index].input].clone())
                .collect();
            Some(report::find_page::write(
                out,
                &document,
                &cfg.reference,
                &match_sources,
                &cfg.limits,
            )?)
        }
        None => None,
    };
    let outcome = FindOutcome {
        document,
        images: inputs.len(),
        failed,
        compared: candidates.len(),
        not_comparable,
        report,
    };
    if !cfg.quiet {
        let mut text = human(&outcome, ref_index + 1);
        if let Some(index) = &outcome.report {
            let index = std::fs::canonicalize(index).unwrap_or_else(|_| index.clone());
            text.push_str(&format!("report: {}\n", index.display()));
        }
        if json_to_stdout {
            eprint!("{text}");
        } else {
            run::print_stdout(&text).map_err(stdout_error)?;
        }
    }
    if inputs.is_empty() {
        eprintln!("onlooker: no images found in {}", run::display_list(&paths));
    }
    Ok(outcome)
}

fn stdout_error(source: std::io::Error) -> FindError {
    FindError::Run(RunError::Write {
        what: "standard output".into(),
        source,
    })
}

/// The ranked list for the terminal.
pub fn human(o: &FindOutcome, face_number: usize) -> String {
    let d = &o.document;
    let mut s = format!(
        "reference: {} face {face_number} at {}\n",
        d.reference.path,
        box_text(&d.reference.bbox)
    );
    s.push_str(&format!(
        "compared with {} face{} in {} photo{}",
        o.compared,
        if o.compared == 1 { "" } else { "s" },
        o.images,
        if o.images == 1 { "" } else { "s" },
    ));
    if o.not_comparable > 0 {
        s.push_str(&format!(
            " ({} more too small, blurred, turned away or not on a person to compare)",
            o.not_comparable
        ));
    }
    s.push('\n');
    if d.matches.is_empty() {
        s.push_str(&format!(
            "no face is even possibly the same person (similarity under {:.2})\n",
            identity::POSSIBLE
        ));
        return s;
    }
    let width = d.matches.len().to_string().len();
    for (i, m) in d.matches.iter().enumerate() {
        s.push_str(&format!(
            "{:>width$}. {:.3}  {:<23}  {} at {}\n",
            i + 1,
            m.similarity,
            m.verdict.as_str(),
            m.path,
            box_text(&m.bbox)
        ));
    }
    let very = d
        .matches
        .iter()
        .filter(|m| m.verdict == Verdict::VeryLikely)
        .count();
    s.push_str(&format!(
        "{} match{}: {very} very likely (similarity >= {:.2}), {} possibly (>= {:.2}). \
         Similarity is not proof of identity: see README.md, \"Identity\".\n",
        d.matches.len(),
        if d.matches.len() == 1 { "" } else { "es" },
        identity::VERY_LIKELY,
        d.matches.len() - very,
        identity::POSSIBLE
    ));
    s
}
