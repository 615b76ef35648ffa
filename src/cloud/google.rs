//! Google Cloud Vision v1: one `AnnotateImageResponse` (FACE_DETECTION,
//! OBJECT_LOCALIZATION, LABEL_DETECTION, TEXT_DETECTION), in the shapes of
//! the discovery document the Google API client ships
//! (`vision.v1.json`). Face and text boxes are integer pixel vertices,
//! object boxes normalised vertices, as the API returns them.

use serde::Serialize;

use super::rules::{likelihood, Likelihood};
use crate::geometry::BBox;
use crate::result::{ExposureLevel, ImageResult};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotateImageResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub face_annotations: Vec<FaceAnnotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub localized_object_annotations: Vec<LocalizedObjectAnnotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub label_annotations: Vec<EntityAnnotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text_annotations: Vec<EntityAnnotation>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceAnnotation {
    pub bounding_poly: BoundingPoly,
    pub landmarks: Vec<Landmark>,
    pub roll_angle: f32,
    pub pan_angle: f32,
    pub tilt_angle: f32,
    pub detection_confidence: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joy_likelihood: Option<Likelihood>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorrow_likelihood: Option<Likelihood>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anger_likelihood: Option<Likelihood>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surprise_likelihood: Option<Likelihood>,
    pub under_exposed_likelihood: Likelihood,
    pub blurred_likelihood: Likelihood,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundingPoly {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vertices: Vec<Vertex>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub normalized_vertices: Vec<NormalizedVertex>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Vertex {
    pub x: i32,
    pub y: i32,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct NormalizedVertex {
    pub x: f32,
    pub y: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Landmark {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub position: Position,
}

/// No `z`: the five landmarks are points in the picture.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Position {
    pub x: f32,
    pub y: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedObjectAnnotation {
    pub name: String,
    pub score: f32,
    pub bounding_poly: BoundingPoly,
}

/// A label (`description`, `score`) or a text annotation (`description`,
/// `boundingPoly`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityAnnotation {
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounding_poly: Option<BoundingPoly>,
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

fn pixel_poly(b: &BBox) -> BoundingPoly {
    let (x0, y0) = (b.x.round() as i32, b.y.round() as i32);
    let (x1, y1) = ((b.x + b.w).round() as i32, (b.y + b.h).round() as i32);
    BoundingPoly {
        vertices: [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            .map(|(x, y)| Vertex { x, y })
            .to_vec(),
        normalized_vertices: Vec::new(),
    }
}

fn normalized_poly(b: &BBox, w: u32, h: u32) -> BoundingPoly {
    let (w, h) = (w.max(1) as f32, h.max(1) as f32);
    let n = |x: f32, y: f32| NormalizedVertex {
        x: round3((x / w).clamp(0.0, 1.0)),
        y: round3((y / h).clamp(0.0, 1.0)),
    };
    BoundingPoly {
        vertices: Vec::new(),
        normalized_vertices: vec![
            n(b.x, b.y),
            n(b.x + b.w, b.y),
            n(b.x + b.w, b.y + b.h),
            n(b.x, b.y + b.h),
        ],
    }
}

/// The response for one image.
pub fn annotate(r: &ImageResult) -> AnnotateImageResponse {
    let face_annotations = r
        .faces
        .iter()
        .map(|f| {
            let scores = f.attributes.expression.as_ref().map(|e| &e.scores);
            let emotion =
                |label: &str| scores.map(|s| likelihood(s.get(label).copied().unwrap_or_default()));
            let l = &f.landmarks;
            FaceAnnotation {
                bounding_poly: pixel_poly(&f.bbox),
                landmarks: [
                    ("LEFT_EYE", l.left_eye),
                    ("RIGHT_EYE", l.right_eye),
                    ("NOSE_TIP", l.nose),
                    ("MOUTH_LEFT", l.mouth_left),
                    ("MOUTH_RIGHT", l.mouth_right),
                ]
                .into_iter()
                .map(|(kind, p)| Landmark {
                    kind,
                    position: Position {
                        x: round3(p.0),
                        y: round3(p.1),
                    },
                })
                .collect(),
                roll_angle: round3(f.head_pose.roll),
                pan_angle: round3(f.head_pose.yaw),
                tilt_angle: round3(f.head_pose.pitch),
                detection_confidence: round3(f.score),
                joy_likelihood: emotion("happy"),
                sorrow_likelihood: emotion("sad"),
                anger_likelihood: emotion("angry"),
                surprise_likelihood: emotion("surprised"),
                under_exposed_likelihood: if f.exposure.level == ExposureLevel::Under {
                    Likelihood::Likely
                } else {
                    Likelihood::VeryUnlikely
                },
                blurred_likelihood: likelihood(f.blur.value),
            }
        })
        .collect();
    let localized_object_annotations = r
        .objects
        .iter()
        .map(|o| LocalizedObjectAnnotation {
            name: super::rules::title_case(o.label),
            score: round3(o.score),
            bounding_poly: normalized_poly(&o.bbox, r.width, r.height),
        })
        .collect();
    let label_annotations = r
        .tags
        .iter()
        .map(|t| EntityAnnotation {
            description: super::rules::title_case(&t.name),
            score: Some(round3(t.confidence)),
            bounding_poly: None,
        })
        .collect();
    // The first text annotation is the whole text and its extent, the
    // others its parts: lines here (the API gives words; the reader gives
    // lines, and word boxes would be invented).
    let mut text_annotations = Vec::new();
    if !r.text.is_empty() {
        let all = r.text.iter().skip(1).fold(r.text[0].bbox, |a, t| {
            let (x0, y0) = (a.x.min(t.bbox.x), a.y.min(t.bbox.y));
            let x1 = (a.x + a.w).max(t.bbox.x + t.bbox.w);
            let y1 = (a.y + a.h).max(t.bbox.y + t.bbox.h);
            BBox {
                x: x0,
                y: y0,
                w: x1 - x0,
                h: y1 - y0,
            }
        });
        let text: Vec<&str> = r.text.iter().map(|t| t.text.as_str()).collect();
        text_annotations.push(EntityAnnotation {
            description: text.join("\n") + "\n",
            score: None,
            bounding_poly: Some(pixel_poly(&all)),
        });
        for t in &r.text {
            text_annotations.push(EntityAnnotation {
                description: t.text.clone(),
                score: None,
                bounding_poly: Some(BoundingPoly {
                    vertices: t
                        .polygon
                        .iter()
                        .map(|p| Vertex {
                            x: p[0].round() as i32,
                            y: p[1].round() as i32,
                        })
                        .collect(),
                    normalized_vertices: Vec::new(),
                }),
            });
        }
    }
    AnnotateImageResponse {
        face_annotations,
        localized_object_annotations,
        label_annotations,
        text_annotations,
    }
}
