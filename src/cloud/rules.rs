//! Every rule that turns one of onlooker's numbers into a provider's: in
//! one place so the README's table and the tests can point at it.

use serde::Serialize;

use crate::result::{BlurLevel, Face};

/// A probability in 0..1 as the percentage AWS gives (0..100).
pub fn percent(p: f32) -> f32 {
    (p.clamp(0.0, 1.0) * 1000.0).round() / 10.0
}

/// Half the width of the age range around an estimate: the estimate is a
/// point, AWS returns a range, and the age model's error on adults is
/// several years. At least 4 years, a fifth of the estimate above 20.
pub fn age_range(age: f32) -> (u32, u32) {
    let half = (age * 0.2).max(4.0);
    let low = (age - half).max(0.0).floor() as u32;
    let high = (age + half).ceil() as u32;
    (low, high)
}

/// Google's likelihood enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Likelihood {
    VeryUnlikely,
    Unlikely,
    Possible,
    Likely,
    VeryLikely,
}

/// A probability as Google's likelihood: under 0.1 very unlikely, under
/// 0.3 unlikely, under 0.5 possible, under 0.8 likely, else very likely.
/// Google does not publish its cut points; these split 0..1 so that
/// "likely" starts where the model's choice does.
pub fn likelihood(p: f32) -> Likelihood {
    match p {
        p if p < 0.1 => Likelihood::VeryUnlikely,
        p if p < 0.3 => Likelihood::Unlikely,
        p if p < 0.5 => Likelihood::Possible,
        p if p < 0.8 => Likelihood::Likely,
        _ => Likelihood::VeryLikely,
    }
}

/// An expression label as an AWS `EmotionName`. FER's seven map one to
/// one; AWS's CALM is FER's neutral; AWS has CONFUSED, which FER lacks
/// (left out).
pub fn aws_emotion(label: &str) -> Option<&'static str> {
    Some(match label {
        "angry" => "ANGRY",
        "disgust" => "DISGUSTED",
        "fearful" => "FEAR",
        "happy" => "HAPPY",
        "neutral" => "CALM",
        "sad" => "SAD",
        "surprised" => "SURPRISED",
        _ => return None,
    })
}

/// An expression label as a key of Azure Face's retired `emotion`
/// attribute (its eighth, contempt, FER lacks).
pub fn azure_emotion(label: &str) -> Option<&'static str> {
    Some(match label {
        "angry" => "anger",
        "disgust" => "disgust",
        "fearful" => "fear",
        "happy" => "happiness",
        "neutral" => "neutral",
        "sad" => "sadness",
        "surprised" => "surprise",
        _ => return None,
    })
}

/// A COCO label or ImageNet name as the providers write label names:
/// each word capitalised ("Cell Phone", "Tabby").
pub fn title_case(label: &str) -> String {
    label
        .split([' ', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Azure Face's `qualityForRecognition` from what decides whether
/// onlooker's own identity step trusts the face: low when it refuses the
/// face (too small, blurred, turned away, not a person) or the face is
/// under the cloud's minimum size, medium when the blur is medium, else
/// high.
pub fn quality_for_recognition(f: &Face) -> &'static str {
    let refused = f.identity.as_ref().is_some_and(|i| i.no_identity.is_some());
    if refused || f.below_cloud_min_size || f.blur.level == BlurLevel::High {
        "low"
    } else if f.blur.level == BlurLevel::Medium {
        "medium"
    } else {
        "high"
    }
}

/// AWS `Quality.Sharpness` (0..100, higher is sharper) from the blur value
/// (0 sharp .. 1 blurred), and `Quality.Brightness` from the exposure value
/// (the face's luma, 0..1).
pub fn sharpness(blur: f32) -> f32 {
    percent(1.0 - blur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_rounded_and_clamped() {
        assert_eq!(percent(0.98765), 98.8);
        assert_eq!(percent(1.5), 100.0);
        assert_eq!(percent(-0.1), 0.0);
        assert_eq!(sharpness(0.25), 75.0);
    }

    #[test]
    fn an_age_becomes_a_range_at_least_eight_years_wide_above_zero() {
        assert_eq!(age_range(30.0), (24, 36));
        assert_eq!(age_range(10.0), (6, 14));
        assert_eq!(age_range(2.0), (0, 6));
        assert_eq!(age_range(60.4), (48, 73));
        for a in [0.0f32, 3.3, 17.9, 45.0, 80.0] {
            let (lo, hi) = age_range(a);
            assert!(
                lo as f32 <= a && a <= hi as f32 && (hi - lo >= 8 || lo == 0),
                "{a}"
            );
        }
    }

    #[test]
    fn likelihood_cut_points() {
        use Likelihood::*;
        let got: Vec<Likelihood> = [0.0, 0.099, 0.1, 0.29, 0.3, 0.49, 0.5, 0.79, 0.8, 1.0]
            .into_iter()
            .map(likelihood)
            .collect();
        assert_eq!(
            got,
            [
                VeryUnlikely,
                VeryUnlikely,
                Unlikely,
                Unlikely,
                Possible,
                Possible,
                Likely,
                Likely,
                VeryLikely,
                VeryLikely
            ]
        );
        assert_eq!(
            serde_json::to_value(VeryLikely).unwrap(),
            serde_json::json!("VERY_LIKELY")
        );
    }

    #[test]
    fn every_expression_has_an_aws_and_an_azure_name() {
        for l in crate::attributes::EXPRESSION_LABELS {
            assert!(aws_emotion(l).is_some(), "{l}");
            assert!(azure_emotion(l).is_some(), "{l}");
        }
        assert_eq!(aws_emotion("neutral"), Some("CALM"));
        assert_eq!(aws_emotion("contempt"), None);
    }

    #[test]
    fn names_are_title_case() {
        assert_eq!(title_case("cell phone"), "Cell Phone");
        assert_eq!(title_case("tabby"), "Tabby");
        assert_eq!(title_case("academic_gown"), "Academic Gown");
    }

    #[test]
    fn recognition_quality_follows_the_identity_step() {
        let mut f = Face::default();
        assert_eq!(quality_for_recognition(&f), "high");
        f.blur.level = BlurLevel::Medium;
        assert_eq!(quality_for_recognition(&f), "medium");
        f.below_cloud_min_size = true;
        assert_eq!(quality_for_recognition(&f), "low");
    }
}
