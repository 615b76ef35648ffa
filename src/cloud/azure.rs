//! Azure: AI Vision Image Analysis 4.0 `analyze` (features objects,
//! people, read, tags; captions left out) and Azure Face `detect`
//! (`faceRectangle`, the five landmarks onlooker has, `headPose`, `blur`,
//! `exposure`, `qualityForRecognition`). Age, gender and emotion, which
//! Microsoft retired from Face in 2022, are in a separate `retired` block
//! that says so.

use std::collections::BTreeMap;

use serde::Serialize;

use super::rules;
use crate::geometry::BBox;
use crate::result::{BlurLevel, ExposureLevel, ImageResult};

/// The response of `analyze`, the faces of `detect`, and the retired
/// attributes.
#[derive(Debug, Clone, Serialize)]
pub struct Responses {
    pub analyze: Analyze,
    pub detect: Vec<DetectedFace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<Retired>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analyze {
    pub metadata: ImageMetadata,
    pub objects_result: Values<DetectedObject>,
    pub people_result: Values<DetectedPerson>,
    pub read_result: ReadResult,
    pub tags_result: Values<Tag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageMetadata {
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Values<T> {
    pub values: Vec<T>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ImageBoundingBox {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectedObject {
    pub bounding_box: ImageBoundingBox,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectedPerson {
    pub bounding_box: ImageBoundingBox,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub name: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadResult {
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Block {
    pub lines: Vec<Line>,
}

/// A line without `words`: the reader gives lines, and word boxes would be
/// invented.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub text: String,
    pub bounding_polygon: Vec<ImagePoint>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ImagePoint {
    pub x: i32,
    pub y: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectedFace {
    pub face_rectangle: FaceRectangle,
    pub face_landmarks: FaceLandmarks,
    pub face_attributes: FaceAttributes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FaceRectangle {
    pub top: i32,
    pub left: i32,
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceLandmarks {
    pub pupil_left: LandmarkPoint,
    pub pupil_right: LandmarkPoint,
    pub nose_tip: LandmarkPoint,
    pub mouth_left: LandmarkPoint,
    pub mouth_right: LandmarkPoint,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LandmarkPoint {
    pub x: f32,
    pub y: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceAttributes {
    pub head_pose: HeadPose,
    pub blur: Blur,
    pub exposure: Exposure,
    pub quality_for_recognition: &'static str,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct HeadPose {
    pub pitch: f32,
    pub roll: f32,
    pub yaw: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blur {
    pub blur_level: &'static str,
    pub value: f32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    pub exposure_level: &'static str,
    pub value: f32,
}

/// What Microsoft retired, kept apart and labelled.
#[derive(Debug, Clone, Serialize)]
pub struct Retired {
    pub note: &'static str,
    /// In the order of `detect`.
    pub faces: Vec<RetiredFace>,
}

pub const RETIRED_NOTE: &str = "retired by Microsoft; shown here because other services still return it: Azure Face stopped returning age, gender, emotion and smile in 2022 (Responsible AI Standard); AWS Rekognition still returns age range, gender and emotions";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiredFace {
    pub face_rectangle: FaceRectangle,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emotion: Option<BTreeMap<&'static str, f32>>,
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

fn ibox(b: &BBox) -> ImageBoundingBox {
    ImageBoundingBox {
        x: b.x.round() as i32,
        y: b.y.round() as i32,
        w: b.w.round() as i32,
        h: b.h.round() as i32,
    }
}

/// A face box as Azure's `faceRectangle` (whole pixels).
pub fn rect(b: &BBox) -> FaceRectangle {
    FaceRectangle {
        top: b.y.round() as i32,
        left: b.x.round() as i32,
        width: b.w.round() as i32,
        height: b.h.round() as i32,
    }
}

/// The responses for one image.
pub fn responses(r: &ImageResult) -> Responses {
    let tag = |name: &str, p: f32| Tag {
        name: name.replace('_', " "),
        confidence: round3(p),
    };
    let objects_result = Values {
        values: r
            .objects
            .iter()
            .map(|o| DetectedObject {
                bounding_box: ibox(&o.bbox),
                tags: vec![tag(o.label, o.score)],
            })
            .collect(),
    };
    let people_result = Values {
        values: r
            .objects
            .iter()
            .filter(|o| o.label == "person")
            .map(|o| DetectedPerson {
                bounding_box: ibox(&o.bbox),
                confidence: round3(o.score),
            })
            .collect(),
    };
    let read_result = ReadResult {
        blocks: if r.text.is_empty() {
            Vec::new()
        } else {
            vec![Block {
                lines: r
                    .text
                    .iter()
                    .map(|t| Line {
                        text: t.text.clone(),
                        bounding_polygon: t
                            .polygon
                            .iter()
                            .map(|p| ImagePoint {
                                x: p[0].round() as i32,
                                y: p[1].round() as i32,
                            })
                            .collect(),
                    })
                    .collect(),
            }]
        },
    };
    let tags_result = Values {
        values: r.tags.iter().map(|t| tag(&t.name, t.confidence)).collect(),
    };
    let point = |p: crate::result::Point| LandmarkPoint {
        x: round3(p.0),
        y: round3(p.1),
    };
    let detect: Vec<DetectedFace> = r
        .faces
        .iter()
        .map(|f| DetectedFace {
            face_rectangle: rect(&f.bbox),
            face_landmarks: FaceLandmarks {
                pupil_left: point(f.landmarks.left_eye),
                pupil_right: point(f.landmarks.right_eye),
                nose_tip: point(f.landmarks.nose),
                mouth_left: point(f.landmarks.mouth_left),
                mouth_right: point(f.landmarks.mouth_right),
            },
            face_attributes: FaceAttributes {
                head_pose: HeadPose {
                    pitch: round3(f.head_pose.pitch),
                    roll: round3(f.head_pose.roll),
                    yaw: round3(f.head_pose.yaw),
                },
                blur: Blur {
                    blur_level: match f.blur.level {
                        BlurLevel::Low => "low",
                        BlurLevel::Medium => "medium",
                        BlurLevel::High => "high",
                    },
                    value: round3(f.blur.value),
                },
                exposure: Exposure {
                    exposure_level: match f.exposure.level {
                        ExposureLevel::Under => "underExposure",
                        ExposureLevel::Good => "goodExposure",
                        ExposureLevel::Over => "overExposure",
                    },
                    value: round3(f.exposure.value),
                },
                quality_for_recognition: rules::quality_for_recognition(f),
            },
        })
        .collect();
    let retired_faces: Vec<RetiredFace> = r
        .faces
        .iter()
        .filter(|f| !f.attributes.is_empty())
        .map(|f| RetiredFace {
            face_rectangle: rect(&f.bbox),
            age: f.attributes.age.map(|a| a.round()),
            gender: f.attributes.gender.as_ref().map(|g| g.label),
            emotion: f.attributes.expression.as_ref().map(|e| {
                e.scores
                    .iter()
                    .filter_map(|(l, p)| rules::azure_emotion(l).map(|k| (k, round3(*p))))
                    .collect()
            }),
        })
        .collect();
    Responses {
        analyze: Analyze {
            metadata: ImageMetadata {
                width: r.width,
                height: r.height,
            },
            objects_result,
            people_result,
            read_result,
            tags_result,
        },
        detect,
        retired: (!retired_faces.is_empty()).then_some(Retired {
            note: RETIRED_NOTE,
            faces: retired_faces,
        }),
    }
}
