//! What a line of text gives away: the identifying kinds recognised by
//! pattern. The patterns only label text; nothing recognised is ever
//! followed, opened or interpreted.

use regex::Regex;
use std::sync::OnceLock;

/// The kinds live with the results (`result::TextKind`); the patterns here.
pub use crate::result::TextKind as Kind;

struct Patterns {
    email: Regex,
    url: Regex,
    date: Regex,
    phone: Regex,
    plate: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        const MONTH: &str = "(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\\.?";
        let re = |s: &str| Regex::new(s).expect("built-in pattern is valid");
        Patterns {
            email: re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
            url: re(concat!(
                r"(?i)\bhttps?://\S+|\bwww\.[a-z0-9-]+(?:\.[a-z0-9-]+)+",
                r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|dev|app|info|co|uk|de|fr|eu|example)\b",
            )),
            date: re(&format!(
                concat!(
                    r"(?i)\b\d{{1,2}}[./-]\d{{1,2}}[./-](?:\d{{4}}|\d{{2}})\b",
                    r"|\b\d{{4}}[./-]\d{{1,2}}[./-]\d{{1,2}}\b",
                    r"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{m}\s*,?\s*\d{{4}}\b",
                    r"|\b{m}\s+\d{{1,2}}(?:st|nd|rd|th)?\s*,?\s*\d{{4}}\b",
                ),
                m = MONTH
            )),
            phone: re(r"(?:\+|\b)\d[\d\s().-]{5,}\d\b"),
            plate: re(r"^[A-Z0-9]{1,4}(?:[ -]?[A-Z0-9]{1,4}){0,2}$"),
        }
    })
}

/// The kind of a recognised line, if it is one of the identifying kinds.
pub fn classify(text: &str) -> Option<Kind> {
    let p = patterns();
    let t = text.trim();
    if p.email.is_match(t) {
        return Some(Kind::Email);
    }
    if p.url.is_match(t) {
        return Some(Kind::Url);
    }
    if p.date.is_match(t) {
        return Some(Kind::Date);
    }
    let phone_digits = |m: regex::Match| {
        (7..=15).contains(&m.as_str().chars().filter(char::is_ascii_digit).count())
    };
    if p.phone.find_iter(t).any(phone_digits) {
        return Some(Kind::Phone);
    }
    let alnum = t.chars().filter(char::is_ascii_alphanumeric).count();
    let letters = t.chars().filter(char::is_ascii_uppercase).count();
    if p.plate.is_match(t) && (5..=9).contains(&alnum) && letters >= 2 && alnum - letters >= 2 {
        return Some(Kind::LicencePlate);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_recognised() {
        let cases = [
            ("ada.lovelace@example.org", Some(Kind::Email)),
            ("or write to office@bakerhudson.example", Some(Kind::Email)),
            ("Our terms are at www.bakerhudson.example", Some(Kind::Url)),
            ("https://x.test/a?b=1", Some(Kind::Url)),
            ("see onlooker.dev", Some(Kind::Url)),
            ("14 March 2026", Some(Kind::Date)),
            ("March 14, 2026", Some(Kind::Date)),
            ("03/14/2026", Some(Kind::Date)),
            ("2026-03-14", Some(Kind::Date)),
            ("+44 20 7946 0958", Some(Kind::Phone)),
            ("Please call us on 020 7946 0321", Some(Kind::Phone)),
            ("(555) 010-4477", Some(Kind::Phone)),
            ("AB12 CDE", Some(Kind::LicencePlate)),
            ("B-MW 1234", Some(Kind::LicencePlate)),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text), want, "{text}");
        }
    }

    #[test]
    fn ordinary_text_has_no_kind() {
        for text in [
            "Ada Lovelace",
            "RUSTCONF 2026",
            "Rue de la Paix",
            "221B Baker Street",
            "London NW1 6XE",
            "Dear Mr Holmes,",
            "Tel 12345",
            "STOP",
            "2026",
            "",
            "e.g. this",
        ] {
            assert_eq!(classify(text), None, "{text}");
        }
    }
}
