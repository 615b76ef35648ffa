//! Greedy CTC decoding of the recogniser's per-step class probabilities.
//!
//! Class 0 is the CTC blank, classes 1..=N are the dictionary's N entries in
//! order, class N + 1 is a space (PaddleOCR appends it with
//! `use_space_char`). Checked on the real models: their outputs have
//! exactly N + 2 classes.

/// The decoded text and its score: the mean probability of the characters
/// kept (PaddleOCR's line score), 0 when nothing was read.
pub fn greedy(probs: &[f32], steps: usize, classes: usize, dict: &[String]) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut kept) = (0.0f32, 0usize);
    let mut prev = 0usize;
    for t in 0..steps {
        let Some(row) = probs.get(t * classes..(t + 1) * classes) else {
            break;
        };
        let (best, p) = row
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |b, (i, p)| if p > b.1 { (i, p) } else { b });
        // A repeat of the previous class is the same character held over
        // several steps; a blank between two equal classes separates them.
        if best != 0 && best != prev {
            let piece = match best {
                i if i <= dict.len() => Some(dict[i - 1].as_str()),
                i if i == dict.len() + 1 => Some(" "),
                _ => None,
            };
            if let Some(s) = piece {
                text.push_str(s);
                sum += p;
                kept += 1;
            }
        }
        prev = best;
    }
    let score = if kept == 0 { 0.0 } else { sum / kept as f32 };
    (text, score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> Vec<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    /// One step per class index, probability `p` on it, the rest spread.
    fn steps(classes: &[usize], p: f32) -> Vec<f32> {
        let n = 5; // blank + 3 + space
        let mut v = Vec::new();
        for &c in classes {
            let mut row = vec![(1.0 - p) / (n - 1) as f32; n];
            row[c] = p;
            v.extend(row);
        }
        v
    }

    #[test]
    fn repeats_collapse_and_blanks_separate() {
        // a a _ a b b _ _ c space c
        let probs = steps(&[1, 1, 0, 1, 2, 2, 0, 0, 3, 4, 3], 0.9);
        let (text, score) = greedy(&probs, 11, 5, &dict());
        assert_eq!(text, "aabc c");
        assert!((score - 0.9).abs() < 1e-6);
    }

    #[test]
    fn all_blank_is_empty_with_zero_score() {
        let probs = steps(&[0, 0, 0], 0.99);
        assert_eq!(greedy(&probs, 3, 5, &dict()), (String::new(), 0.0));
    }

    #[test]
    fn score_is_the_mean_of_kept_characters_only() {
        let mut probs = steps(&[1, 0], 0.6);
        probs.extend(steps(&[2], 1.0));
        let (text, score) = greedy(&probs, 3, 5, &dict());
        assert_eq!(text, "ab");
        assert!((score - 0.8).abs() < 1e-6, "{score}");
    }

    #[test]
    fn short_buffers_and_unknown_classes_do_not_panic() {
        let probs = steps(&[1, 3], 0.9);
        // More steps claimed than present: stops at the end of the buffer.
        assert_eq!(greedy(&probs, 10, 5, &dict()).0, "ac");
        // A dictionary shorter than the model's classes: class 3 is past
        // its space class and is skipped.
        let short = vec!["a".to_string()];
        assert_eq!(greedy(&probs, 2, 5, &short).0, "a");
    }
}
