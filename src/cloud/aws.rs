//! AWS Rekognition: `DetectFaces` (with `Attributes: ["ALL"]`),
//! `DetectLabels` and `DetectText` responses, in the shapes of the
//! service model botocore ships (`rekognition/2016-06-27/service-2.json`).
//! Boxes and points are ratios of the image's width and height.

use std::collections::BTreeMap;

use serde::Serialize;

use super::rules::{self, percent};
use crate::geometry::BBox;
use crate::result::ImageResult;

/// The three operations' responses, keyed by operation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Responses {
    pub detect_faces: DetectFacesResponse,
    pub detect_labels: DetectLabelsResponse,
    pub detect_text: DetectTextResponse,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetectFacesResponse {
    pub face_details: Vec<FaceDetail>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundingBox {
    pub width: f32,
    pub height: f32,
    pub left: f32,
    pub top: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FaceDetail {
    pub bounding_box: BoundingBox,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_range: Option<AgeRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emotions: Vec<Emotion>,
    pub landmarks: Vec<Landmark>,
    pub pose: Pose,
    pub quality: Quality,
    pub confidence: f32,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgeRange {
    pub low: u32,
    pub high: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Gender {
    pub value: &'static str,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Emotion {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Landmark {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub x: f32,
    pub y: f32,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pose {
    pub roll: f32,
    pub yaw: f32,
    pub pitch: f32,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Quality {
    pub brightness: f32,
    pub sharpness: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetectLabelsResponse {
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Label {
    pub name: String,
    pub confidence: f32,
    pub instances: Vec<Instance>,
    pub parents: Vec<Parent>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    pub bounding_box: BoundingBox,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parent {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetectTextResponse {
    pub text_detections: Vec<TextDetection>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TextDetection {
    pub detected_text: String,
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub id: u32,
    pub confidence: f32,
    pub geometry: Geometry,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Geometry {
    pub bounding_box: BoundingBox,
    pub polygon: Vec<Point>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// Rounded to 4 decimals, as the service's ratios read.
fn ratio(v: f32, of: u32) -> f32 {
    ((v / of.max(1) as f32).clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0
}

/// An angle within the service's -180..180, to a tenth of a degree.
fn degrees(a: f32) -> f32 {
    (a.clamp(-180.0, 180.0) * 10.0).round() / 10.0
}

fn bbox(b: &BBox, w: u32, h: u32) -> BoundingBox {
    BoundingBox {
        width: ratio(b.w, w),
        height: ratio(b.h, h),
        left: ratio(b.x, w),
        top: ratio(b.y, h),
    }
}

/// All three responses for one image.
pub fn responses(r: &ImageResult) -> Responses {
    let (w, h) = (r.width, r.height);
    let point = |p: crate::result::Point| Point {
        x: ratio(p.0, w),
        y: ratio(p.1, h),
    };
    let face_details = r
        .faces
        .iter()
        .map(|f| {
            let a = &f.attributes;
            let l = &f.landmarks;
            let mut emotions: Vec<Emotion> = a
                .expression
                .iter()
                .flat_map(|e| e.scores.iter())
                .filter_map(|(label, p)| {
                    rules::aws_emotion(label).map(|kind| Emotion {
                        kind,
                        confidence: percent(*p),
                    })
                })
                .collect();
            emotions.sort_by(|x, y| y.confidence.total_cmp(&x.confidence));
            FaceDetail {
                bounding_box: bbox(&f.bbox, w, h),
                age_range: a.age.map(|age| {
                    let (low, high) = rules::age_range(age);
                    AgeRange { low, high }
                }),
                gender: a.gender.as_ref().map(|g| Gender {
                    value: if g.label == "female" {
                        "Female"
                    } else {
                        "Male"
                    },
                    confidence: percent(g.confidence),
                }),
                emotions,
                landmarks: [
                    ("eyeLeft", l.left_eye),
                    ("eyeRight", l.right_eye),
                    ("nose", l.nose),
                    ("mouthLeft", l.mouth_left),
                    ("mouthRight", l.mouth_right),
                ]
                .into_iter()
                .map(|(kind, p)| {
                    let p = point(p);
                    Landmark {
                        kind,
                        x: p.x,
                        y: p.y,
                    }
                })
                .collect(),
                pose: Pose {
                    roll: degrees(f.head_pose.roll),
                    yaw: degrees(f.head_pose.yaw),
                    pitch: degrees(f.head_pose.pitch),
                },
                quality: Quality {
                    brightness: percent(f.exposure.value),
                    sharpness: rules::sharpness(f.blur.value),
                },
                confidence: percent(f.score),
            }
        })
        .collect();

    // Objects give labels with instances; tags give labels without (as
    // the service's scene labels have none). One label per name.
    let mut labels: BTreeMap<String, Label> = BTreeMap::new();
    for o in &r.objects {
        let name = rules::title_case(o.label);
        let label = labels.entry(name.clone()).or_insert_with(|| Label {
            name,
            confidence: 0.0,
            instances: Vec::new(),
            parents: Vec::new(),
        });
        label.confidence = label.confidence.max(percent(o.score));
        label.instances.push(Instance {
            bounding_box: bbox(&o.bbox, w, h),
            confidence: percent(o.score),
        });
    }
    for t in &r.tags {
        let name = rules::title_case(&t.name);
        let label = labels.entry(name.clone()).or_insert_with(|| Label {
            name,
            confidence: 0.0,
            instances: Vec::new(),
            parents: Vec::new(),
        });
        label.confidence = label.confidence.max(percent(t.confidence));
    }
    let mut labels: Vec<Label> = labels.into_values().collect();
    labels.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));

    let text_detections = r
        .text
        .iter()
        .enumerate()
        .map(|(i, t)| TextDetection {
            detected_text: t.text.clone(),
            kind: "LINE",
            id: i as u32,
            confidence: percent(t.score),
            geometry: Geometry {
                bounding_box: bbox(&t.bbox, w, h),
                polygon: t
                    .polygon
                    .iter()
                    .map(|p| point(crate::result::Point(p[0], p[1])))
                    .collect(),
            },
        })
        .collect();
    Responses {
        detect_faces: DetectFacesResponse { face_details },
        detect_labels: DetectLabelsResponse { labels },
        detect_text: DetectTextResponse { text_detections },
    }
}
