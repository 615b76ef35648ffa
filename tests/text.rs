//! The text reader with the real PP-OCR models on the text samples
//! (samples/text/, drawn by scripts/text_samples.rs) and on photos without
//! text.

mod common;

use onlooker::text::{Kind, Reader, TextLine};
use onlooker::Runtime;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// What each text sample says, line by line in reading order.
const BADGE: &[&str] = &[
    "RUSTCONF 2026",
    "Ada Lovelace",
    "Analytical Engines Ltd",
    "ada.lovelace@example.org",
    "+44 20 7946 0958",
];
const LETTER: &[&str] = &[
    "Baker & Hudson Solicitors",
    "221B Baker Street",
    "London NW1 6XE",
    "14 March 2026",
    "Dear Mr Holmes,",
    "Thank you for your letter of 2 March.",
    "Please call us on 020 7946 0321",
    "or write to office@bakerhudson.example",
    "Our terms are at www.bakerhudson.example",
    "Yours sincerely,",
    "Martha Hudson",
    "Ref. MH/2026/118 - 03/14/2026",
];
const STREET: &[&str] = &["Rue de la Paix", "AB12 CDE"];

const SAMPLES: &[(&str, &[&str])] = &[
    ("text/badge.jpg", BADGE),
    ("text/letter.jpg", LETTER),
    ("text/street.jpg", STREET),
    ("text/badge_upside_down.jpg", BADGE),
    ("text/street_turned.jpg", STREET),
];

/// The bound on the character error rate of every sample.
const MAX_CER: f64 = 0.10;

fn reader() -> &'static Mutex<Reader> {
    static R: OnceLock<Mutex<Reader>> = OnceLock::new();
    R.get_or_init(|| {
        let rt = Box::leak(Box::new(Runtime::from_env().expect("runtime")));
        Mutex::new(Reader::new(rt, 1).expect("text models"))
    })
}

fn read(name: &str) -> Vec<TextLine> {
    reader().lock().unwrap().read(&common::load(name)).unwrap()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut prev = row[0];
        row[0] = i;
        for j in 1..=b.len() {
            let cur = row[j];
            row[j] = (prev + usize::from(a[i - 1] != b[j - 1]))
                .min(row[j] + 1)
                .min(row[j - 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Character error rate: the edit distance from each expected line to the
/// closest line read, summed, over the expected characters. Lines read that
/// match nothing expected are counted by [`spurious`].
fn cer(expected: &[&str], got: &[TextLine]) -> f64 {
    let errors: usize = expected
        .iter()
        .map(|e| {
            got.iter()
                .map(|g| levenshtein(e, &g.text))
                .min()
                .unwrap_or(e.chars().count())
        })
        .sum();
    errors as f64 / expected.iter().map(|e| e.chars().count()).sum::<usize>() as f64
}

/// Lines read that are closer to no expected line than half their length.
fn spurious(expected: &[&str], got: &[TextLine]) -> usize {
    got.iter()
        .filter(|g| {
            expected
                .iter()
                .all(|e| levenshtein(e, &g.text) * 2 > g.text.chars().count())
        })
        .count()
}

fn texts(lines: &[TextLine]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

#[test]
fn the_text_samples_are_read_within_the_error_bound() {
    for (name, expected) in SAMPLES {
        let got = read(name);
        let rate = cer(expected, &got);
        assert!(
            rate < MAX_CER,
            "{name}: CER {rate:.3}, read {:?}",
            texts(&got)
        );
        assert_eq!(spurious(expected, &got), 0, "{name}: {:?}", texts(&got));
    }
}

#[test]
fn identifying_items_are_read_exactly_and_classified() {
    let badge = read("text/badge.jpg");
    let letter = read("text/letter.jpg");
    let street = read("text/street.jpg");
    let find = |lines: &[TextLine], s: &str| -> Option<Kind> {
        let l = lines
            .iter()
            .find(|l| l.text == s)
            .unwrap_or_else(|| panic!("{s:?} not read exactly: {:?}", texts(lines)));
        l.kind
    };
    assert_eq!(find(&badge, "ada.lovelace@example.org"), Some(Kind::Email));
    assert_eq!(find(&badge, "+44 20 7946 0958"), Some(Kind::Phone));
    assert_eq!(find(&badge, "Ada Lovelace"), None);
    assert_eq!(find(&letter, "14 March 2026"), Some(Kind::Date));
    assert_eq!(
        find(&letter, "Please call us on 020 7946 0321"),
        Some(Kind::Phone)
    );
    assert_eq!(
        find(&letter, "or write to office@bakerhudson.example"),
        Some(Kind::Email)
    );
    assert_eq!(
        find(&letter, "Our terms are at www.bakerhudson.example"),
        Some(Kind::Url)
    );
    assert_eq!(find(&street, "AB12 CDE"), Some(Kind::LicencePlate));
}

#[test]
fn lines_come_in_reading_order_with_boxes_on_the_text() {
    let letter = read("text/letter.jpg");
    let got = texts(&letter);
    let pos = |s: &str| {
        got.iter()
            .position(|g| *g == s)
            .unwrap_or_else(|| panic!("{s:?} in {got:?}"))
    };
    assert!(pos("221B Baker Street") < pos("London NW1 6XE"));
    assert!(pos("London NW1 6XE") < pos("14 March 2026"));
    assert!(pos("Yours sincerely,") < pos("Martha Hudson"));
    // "Martha Hudson" is drawn at (60, 650) at 28 px.
    let l = &letter[pos("Martha Hudson")];
    let [x, y, w, h] = [l.bbox.x, l.bbox.y, l.bbox.w, l.bbox.h];
    assert!(
        (45.0..70.0).contains(&x) && (640.0..660.0).contains(&y),
        "{:?}",
        l.bbox
    );
    assert!(
        (200.0..290.0).contains(&w) && (25.0..50.0).contains(&h),
        "{:?}",
        l.bbox
    );
    assert!(l.score > 0.9, "{}", l.score);
}

#[test]
fn rotated_text_is_read_and_its_polygon_starts_at_the_text_top_left() {
    let up = read("text/badge.jpg");
    let down = read("text/badge_upside_down.jpg");
    assert_eq!(texts(&down), texts(&up));
    // Upside down, the text's top-left corner is at the image's lower right.
    let email = down.iter().find(|l| l.kind == Some(Kind::Email)).unwrap();
    let [first, _, third, _] = email.polygon;
    assert!(
        first[0] > third[0] && first[1] > third[1],
        "{:?}",
        email.polygon
    );

    let turned = read("text/street_turned.jpg");
    assert!(texts(&turned).contains(&"AB12 CDE"), "{:?}", texts(&turned));
    assert!(
        texts(&turned).contains(&"Rue de la Paix"),
        "{:?}",
        texts(&turned)
    );
}

#[test]
fn photos_without_text_give_no_lines() {
    for name in ["coffee.png", "giraffe.jpg", "chelsea.png"] {
        let got = read(name);
        assert!(got.is_empty(), "{name}: {:?}", texts(&got));
    }
}

#[test]
fn tiny_and_blank_images_give_no_lines() {
    let mut r = reader().lock().unwrap();
    for (w, h) in [(1, 1), (3, 500), (500, 3), (64, 64)] {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
        assert!(r.read(&img).unwrap().is_empty(), "{w}x{h}");
    }
}

/// Accuracy and time of the reader on the samples, one thread, at several
/// detection sizes and batch sizes: `cargo test --release --test text --
/// --ignored --nocapture measure`. Figures in ARCHITECTURE.md, "Text".
#[test]
#[ignore]
fn measure() {
    let rt = Runtime::from_env().unwrap();
    let sets = [("chosen", onlooker::text::MODELS)];
    let reps = 1;
    for (set, models) in sets {
        let mut r = Reader::with_models(&rt, &models, 1).unwrap();
        // Harder: every sample at half size (the letter's small print is
        // then 9 px high).
        let (mut chars, mut errors, mut exact) = (0.0, 0.0, 0usize);
        for (name, expected) in SAMPLES {
            let img = common::load(name);
            let half = image::imageops::resize(
                &img,
                img.width() / 2,
                img.height() / 2,
                image::imageops::FilterType::Triangle,
            );
            let got = r.read(&half).unwrap();
            let n: usize = expected.iter().map(|e| e.chars().count()).sum();
            chars += n as f64;
            errors += cer(expected, &got) * n as f64;
            exact += expected
                .iter()
                .filter(|e| got.iter().any(|g| g.text == **e))
                .count();
        }
        let total: usize = SAMPLES.iter().map(|(_, e)| e.len()).sum();
        println!(
            "{set} at half size: CER {:.2}%, {exact} of {total} lines exact",
            100.0 * errors / chars
        );
        for side in [640u32, 960] {
            for batch in [1usize, 6] {
                r.det_max_side = side;
                r.rec_batch = batch;
                let (mut chars, mut errors, mut lines, mut spur) = (0.0, 0.0, 0usize, 0usize);
                let (mut det_s, mut total_s) = (0.0, 0.0);
                for (name, expected) in SAMPLES {
                    let img = common::load(name);
                    r.read(&img).unwrap(); // warm-up
                    let t = Instant::now();
                    for _ in 0..reps {
                        r.detect(&img).unwrap();
                    }
                    det_s += t.elapsed().as_secs_f64() / reps as f64;
                    let t = Instant::now();
                    let mut got = Vec::new();
                    for _ in 0..reps {
                        got = r.read(&img).unwrap();
                    }
                    total_s += t.elapsed().as_secs_f64() / reps as f64;
                    let n: usize = expected.iter().map(|e| e.chars().count()).sum();
                    chars += n as f64;
                    errors += cer(expected, &got) * n as f64;
                    lines += got.len();
                    spur += spurious(expected, &got);
                }
                let (n, ms) = (SAMPLES.len() as f64, 1000.0);
                println!(
                    "{set} side {side} batch {batch}: CER {:.2}% spurious {spur} lines {lines}; per image {:.0} ms (detection {:.0} ms), per line {:.1} ms of recognition",
                    100.0 * errors / chars,
                    total_s * ms / n,
                    det_s * ms / n,
                    (total_s - det_s) * ms / lines as f64
                );
            }
        }
    }
}
