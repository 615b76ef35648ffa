//! What the file itself gives away before any model runs: the EXIF block of
//! a JPEG, PNG, WebP, TIFF or HEIF file, read with `kamadak-exif` into a
//! typed [`Metadata`] (the `metadata` object of each image in the JSON).
//!
//! Only what the file states is reported: a missing or blank tag is absent
//! from the output, never filled in or guessed. A block that cannot be read
//! is recorded in [`Metadata::error`] and never stops the pixel analysis.

use std::fmt;
use std::io::Cursor;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// `::exif` is the kamadak-exif crate; plain `exif` would be this module.
use ::exif::{Exif, In, Reader, Tag, Value};

/// Longest text value kept from a tag; longer ones are cut (a crafted file
/// could put megabytes into a "camera model").
const MAX_TEXT_CHARS: usize = 256;

/// Why a file's EXIF block could not be read. Recorded on the image as
/// `metadata.error`; it never stops the pixel analysis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("EXIF block unreadable: {0}")]
    Unreadable(String),
    #[error("EXIF block could not be parsed (the parser gave up)")]
    ParserPanicked,
}

/// Everything onlooker reads from a file's EXIF block. Absent tags are
/// absent from the JSON (see README.md, "metadata").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Metadata {
    /// DateTimeOriginal: when the photo was taken, by the camera's clock,
    /// with the UTC offset appended when the file records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<Timestamp>,
    /// OffsetTimeOriginal, e.g. "+02:00".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<String>,
    /// DateTime (with OffsetTime): when the file was last changed by the
    /// camera or an editor. Not a capture time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps: Option<Gps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera: Option<Camera>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// EXIF orientation code, 1..=8 (already applied to the pixels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copyright: Option<String>,
    /// CameraOwnerName.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// ImageDescription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags that were present but unusable (out of range, wrong type) and
    /// so left out, and parse problems in a partly readable block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why the EXIF block could not be read at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Metadata {
    pub fn failed(err: MetadataError) -> Self {
        Metadata {
            error: Some(err.to_string()),
            ..Default::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Metadata::default()
    }

    /// Latitude and longitude, when the file has both.
    pub fn position(&self) -> Option<(f64, f64)> {
        let g = self.gps.as_ref()?;
        Some((g.latitude?, g.longitude?))
    }
}

/// The GPS block: where the device was when the photo was taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Gps {
    /// Signed decimal degrees, north positive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// Signed decimal degrees, east positive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// Metres above sea level (negative below).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub altitude: Option<f64>,
    /// GPSDateStamp + GPSTimeStamp, UTC: "2026-05-01T06:05:12Z", or only
    /// "06:05:12Z" when the file has no date stamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// The device and lens, as the file names them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Camera {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// LensModel, prefixed by LensMake when the model does not name it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lens: Option<String>,
    /// BodySerialNumber: ties every photo carrying it to one device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

impl Camera {
    /// "Canon PowerShot S95" rather than "Canon Canon PowerShot S95": most
    /// makers repeat the make in the model.
    pub fn name(&self) -> Option<String> {
        match (&self.make, &self.model) {
            (Some(make), Some(model)) => {
                if model.to_lowercase().starts_with(&make.to_lowercase()) {
                    Some(model.clone())
                } else {
                    Some(format!("{make} {model}"))
                }
            }
            (None, Some(m)) | (Some(m), None) => Some(m.clone()),
            (None, None) => None,
        }
    }
}

/// A date and time by a camera's clock, with the UTC offset when known.
/// Serialised as ISO 8601: "2014-09-19T16:08:30" or
/// "2026-05-01T08:05:12+02:00".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Minutes east of UTC.
    pub offset_minutes: Option<i16>,
}

impl Timestamp {
    /// "2026-05-01"
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// "Friday 1 May 2026": the date as people say it (English).
    pub fn human_date(&self) -> String {
        const DAYS: [&str; 7] = [
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        // Day 0 of `days_from_civil` is Thursday 1 January 1970.
        let days = days_from_civil(self.year as i64, self.month as i64, self.day as i64);
        let month = MONTHS
            .get(usize::from(self.month).wrapping_sub(1))
            .copied()
            .unwrap_or("?");
        format!(
            "{} {} {month} {}",
            DAYS[days.rem_euclid(7) as usize],
            self.day,
            self.year
        )
    }

    /// "08:05"
    pub fn clock(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// "+02:00", when known.
    pub fn offset(&self) -> Option<String> {
        self.offset_minutes.map(format_offset)
    }

    /// Seconds for ordering: UTC when the offset is known, otherwise the
    /// camera's clock as it reads (the only evidence there is).
    pub fn sort_key(&self) -> i64 {
        let days = days_from_civil(self.year as i64, self.month as i64, self.day as i64);
        let local =
            days * 86_400 + self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64;
        local - self.offset_minutes.unwrap_or(0) as i64 * 60
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.date(),
            self.hour,
            self.minute,
            self.second
        )?;
        if let Some(o) = self.offset() {
            f.write_str(&o)?;
        }
        Ok(())
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "local date and time as the camera's clock gave it, with the UTC offset when the file records one",
            "type": "string",
            "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}([+-]\\d{2}:\\d{2})?$"
        })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// From the serialised form, "2026-05-01T08:05:12+02:00" (results come
/// back from the workshop page for the batch findings, `serve`).
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || serde::de::Error::custom(format!("not a date and time: {s:?}"));
        let (date, rest) = s.split_once('T').ok_or_else(bad)?;
        let (time, offset) = match rest.find(['+', '-']) {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        if date.len() != 10 || time.len() != 8 {
            return Err(bad());
        }
        // The EXIF form the camera wrote, parsed and checked as it was.
        let exif = format!("{} {time}", date.replace('-', ":"));
        parse_datetime(exif.as_bytes(), offset.map(str::as_bytes))
            .map_err(serde::de::Error::custom)?
            .ok_or_else(bad)
    }
}

fn format_offset(minutes: i16) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm), so times can be ordered without a date library.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// Parses an EXIF "YYYY:MM:DD HH:MM:SS" value and an optional "+HH:MM"
/// offset. `Ok(None)` for the blank forms cameras write when their clock is
/// unset ("    :  :     :  :  ", "0000:00:00 00:00:00"); `Err` for values
/// that are not a real date and time.
pub fn parse_datetime(value: &[u8], offset: Option<&[u8]>) -> Result<Option<Timestamp>, String> {
    let shown = String::from_utf8_lossy(value);
    let dt = match ::exif::DateTime::from_ascii(value) {
        Ok(dt) => dt,
        Err(::exif::Error::BlankValue(_)) => return Ok(None),
        Err(_) => return Err(format!("not a date and time: {:?}", clean_text(value))),
    };
    if dt.year == 0 && dt.month == 0 && dt.day == 0 {
        return Ok(None);
    }
    let valid = (1..=12).contains(&dt.month)
        && dt.day >= 1
        && dt.day <= days_in_month(dt.year, dt.month)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second <= 60;
    if !valid {
        return Err(format!("not a valid date and time: {shown:?}"));
    }
    let offset_minutes = match offset {
        None => None,
        Some(o) => parse_offset(o)?,
    };
    Ok(Some(Timestamp {
        year: dt.year,
        month: dt.month,
        day: dt.day,
        hour: dt.hour,
        minute: dt.minute,
        second: dt.second,
        offset_minutes,
    }))
}

/// "+02:00" / "-05:30" in minutes; `Ok(None)` when blank.
pub fn parse_offset(value: &[u8]) -> Result<Option<i16>, String> {
    let mut dt = ::exif::DateTime::from_ascii(b"2000:01:01 00:00:00").expect("constant");
    match dt.parse_offset(value) {
        Ok(()) => {}
        Err(::exif::Error::BlankValue(_)) => return Ok(None),
        Err(_) => return Err(format!("not a UTC offset: {:?}", clean_text(value))),
    }
    let minutes = dt.offset.unwrap_or(0);
    // Real offsets run from -12:00 to +14:00, and minutes stay under 60.
    let m = &value[4..6];
    if minutes.unsigned_abs() > 14 * 60 || m > b"59".as_slice() {
        return Err(format!("not a UTC offset: {:?}", clean_text(value)));
    }
    Ok(Some(minutes))
}

/// Degrees, minutes, seconds to decimal degrees, negative for the south
/// and west hemispheres (`reference` is GPSLatitudeRef / GPSLongitudeRef:
/// N, S, E or W). Writers may put fractions in any part, and some write
/// only degrees or degrees and minutes.
pub fn dms_to_decimal(parts: &[f64], reference: u8) -> Option<f64> {
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| !p.is_finite() || *p < 0.0) {
        return None;
    }
    let mut v = 0.0;
    for (p, unit) in parts.iter().zip([1.0, 60.0, 3600.0]) {
        v += p / unit;
    }
    match reference.to_ascii_uppercase() {
        b'N' | b'E' => Some(v),
        b'S' | b'W' => Some(-v),
        _ => None,
    }
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().min(1.0).asin()
}

/// "48.858 N 2.294 E": three decimals is about 100 m.
pub fn format_position(lat: f64, lon: f64) -> String {
    format!(
        "{:.3} {} {:.3} {}",
        lat.abs(),
        if lat < 0.0 { 'S' } else { 'N' },
        lon.abs(),
        if lon < 0.0 { 'W' } else { 'E' }
    )
}

/// Text from a tag as it can be shown safely: NULs and the space padding
/// many cameras use are trimmed, control characters (a crafted file could
/// carry terminal escape sequences) are dropped, and the length is capped.
pub fn clean_text(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let s: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT_CHARS)
        .collect();
    s.trim().to_string()
}

/// Whether this is a container kamadak-exif can look into (JPEG, PNG,
/// WebP, TIFF, HEIF). Other formats (GIF, BMP) carry no EXIF for us: their
/// metadata is empty, not an error.
fn may_carry_exif(b: &[u8]) -> bool {
    b.starts_with(&[0xFF, 0xD8])
        || b.starts_with(b"\x89PNG\r\n\x1a\n")
        || b.starts_with(b"II*\0")
        || b.starts_with(b"MM\0*")
        || (b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP")
        || (b.len() >= 12 && &b[4..8] == b"ftyp")
}

/// Reads the metadata of an in-memory file. Never fails and never panics:
/// a file without EXIF gives empty metadata, an unreadable block gives
/// [`Metadata::error`].
pub fn read(bytes: &[u8]) -> Metadata {
    if !may_carry_exif(bytes) {
        return Metadata::default();
    }
    // kamadak-exif is not known to panic, but it parses hostile input and a
    // panic here must not take the worker (and the pixel analysis) down.
    match std::panic::catch_unwind(|| read_container(bytes)) {
        Ok(m) => m,
        Err(_) => Metadata::failed(MetadataError::ParserPanicked),
    }
}

fn read_container(bytes: &[u8]) -> Metadata {
    let mut reader = Reader::new();
    reader.continue_on_error(true);
    let mut warnings = Vec::new();
    let exif = match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => exif,
        Err(::exif::Error::NotFound(_)) => return Metadata::default(),
        Err(::exif::Error::PartialResult(p)) => {
            let (exif, errors) = p.into_inner();
            if exif.fields().len() == 0 {
                let why: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                return Metadata::failed(MetadataError::Unreadable(why.join("; ")));
            }
            warnings.extend(
                errors
                    .iter()
                    .map(|e| format!("EXIF block partly unreadable: {e}")),
            );
            exif
        }
        Err(e) => return Metadata::failed(MetadataError::Unreadable(e.to_string())),
    };
    let mut m = from_exif(&exif, &mut warnings);
    m.warnings = warnings;
    m
}

/// Builds [`Metadata`] from a parsed block; unusable tags go to `warnings`.
pub fn from_exif(exif: &Exif, warnings: &mut Vec<String>) -> Metadata {
    let f = Fields { exif };
    let mut m = Metadata::default();

    let offset_original = f.ascii_raw(Tag::OffsetTimeOriginal);
    if let Some(raw) = f.ascii_raw(Tag::DateTimeOriginal) {
        match parse_datetime(&raw, offset_original.as_deref()) {
            Ok(t) => m.taken_at = t,
            Err(e) => warnings.push(format!("DateTimeOriginal: {e}")),
        }
    }
    if m.taken_at.is_none() {
        // An offset alone still tells the time zone the camera was set to.
        if let Some(raw) = &offset_original {
            match parse_offset(raw) {
                Ok(o) => m.utc_offset = o.map(format_offset),
                Err(e) => warnings.push(format!("OffsetTimeOriginal: {e}")),
            }
        }
    } else {
        m.utc_offset = m.taken_at.and_then(|t| t.offset());
    }
    if let Some(raw) = f.ascii_raw(Tag::DateTime) {
        let offset = f.ascii_raw(Tag::OffsetTime);
        match parse_datetime(&raw, offset.as_deref()) {
            Ok(t) => m.modified_at = t,
            Err(e) => warnings.push(format!("DateTime: {e}")),
        }
    }

    m.gps = gps(&f, warnings);

    let camera = Camera {
        make: f.text(Tag::Make),
        model: f.text(Tag::Model),
        lens: lens(f.text(Tag::LensMake), f.text(Tag::LensModel)),
        serial: f.text(Tag::BodySerialNumber),
    };
    if camera != Camera::default() {
        m.camera = Some(camera);
    }
    m.software = f.text(Tag::Software);
    if let Some(field) = exif.get_field(Tag::Orientation, In::PRIMARY) {
        match field.value.get_uint(0) {
            Some(v @ 1..=8) => m.orientation = Some(v as u16),
            _ => warnings.push("Orientation: not a value from 1 to 8".into()),
        }
    }
    m.artist = f.text(Tag::Artist);
    m.copyright = f.text(Tag::Copyright);
    m.owner = f.text(Tag::CameraOwnerName);
    m.description = f.text(Tag::ImageDescription);
    m
}

fn lens(make: Option<String>, model: Option<String>) -> Option<String> {
    match (make, model) {
        (Some(make), Some(model)) if !model.to_lowercase().contains(&make.to_lowercase()) => {
            Some(format!("{make} {model}"))
        }
        (_, Some(model)) => Some(model),
        (Some(make), None) => Some(make),
        (None, None) => None,
    }
}

fn gps(f: &Fields, warnings: &mut Vec<String>) -> Option<Gps> {
    let mut g = Gps {
        latitude: f.coordinate(Tag::GPSLatitude, Tag::GPSLatitudeRef, 90.0, warnings),
        longitude: f.coordinate(Tag::GPSLongitude, Tag::GPSLongitudeRef, 180.0, warnings),
        ..Default::default()
    };
    if let Some(alt) = f
        .rationals(Tag::GPSAltitude)
        .and_then(|v| v.first().copied())
    {
        if alt.is_finite() {
            // GPSAltitudeRef 1 means below sea level; absent means above.
            let below = f
                .exif
                .get_field(Tag::GPSAltitudeRef, In::PRIMARY)
                .and_then(|r| r.value.get_uint(0))
                == Some(1);
            g.altitude = Some(if below { -alt } else { alt });
        } else {
            warnings.push("GPSAltitude: not a number".into());
        }
    }
    g.time = gps_time(f, warnings);
    (g != Gps::default()).then_some(g)
}

fn gps_time(f: &Fields, warnings: &mut Vec<String>) -> Option<String> {
    let hms = f.rationals(Tag::GPSTimeStamp)?;
    let ok = hms.len() == 3
        && hms.iter().all(|v| v.is_finite() && *v >= 0.0)
        && hms[0] < 24.0
        && hms[1] < 60.0
        && hms[2] < 61.0;
    if !ok {
        warnings.push("GPSTimeStamp: not a valid time".into());
        return None;
    }
    let clock = format!(
        "{:02}:{:02}:{:02}Z",
        hms[0] as u32,
        hms[1] as u32,
        hms[2].floor() as u32
    );
    let date = f.ascii_raw(Tag::GPSDateStamp).and_then(|d| {
        // "YYYY:MM:DD"; reuse the date-time parser with a midnight clock.
        let mut full = d.get(..10)?.to_vec();
        full.extend_from_slice(b" 00:00:00");
        match parse_datetime(&full, None) {
            Ok(t) => t.map(|t| t.date()),
            Err(e) => {
                warnings.push(format!("GPSDateStamp: {e}"));
                None
            }
        }
    });
    Some(match date {
        Some(d) => format!("{d}T{clock}"),
        None => clock,
    })
}

/// Typed access to the primary image's tags.
struct Fields<'a> {
    exif: &'a Exif,
}

impl Fields<'_> {
    fn ascii_raw(&self, tag: Tag) -> Option<Vec<u8>> {
        match &self.exif.get_field(tag, In::PRIMARY)?.value {
            Value::Ascii(v) => v.first().cloned(),
            // Some writers store text as UNDEFINED or BYTE.
            Value::Undefined(v, _) | Value::Byte(v) => Some(v.clone()),
            _ => None,
        }
        .map(|mut v| {
            while v.last() == Some(&0) {
                v.pop();
            }
            v
        })
    }

    /// Cleaned text; absent when the tag is missing or blank.
    fn text(&self, tag: Tag) -> Option<String> {
        let s = clean_text(&self.ascii_raw(tag)?);
        (!s.is_empty()).then_some(s)
    }

    fn rationals(&self, tag: Tag) -> Option<Vec<f64>> {
        match &self.exif.get_field(tag, In::PRIMARY)?.value {
            // A zero denominator gives NaN or infinity, rejected by callers.
            Value::Rational(v) => Some(v.iter().map(|r| r.to_f64()).collect()),
            Value::SRational(v) => Some(v.iter().map(|r| r.to_f64()).collect()),
            _ => None,
        }
    }

    fn coordinate(
        &self,
        tag: Tag,
        reference: Tag,
        limit: f64,
        warnings: &mut Vec<String>,
    ) -> Option<f64> {
        let parts = self.rationals(tag)?;
        let Some(r) = self.ascii_raw(reference).and_then(|r| r.first().copied()) else {
            // Without N/S or E/W the sign is unknown: leave it out rather
            // than guess a hemisphere.
            warnings.push(format!("{tag}: no hemisphere reference, left out"));
            return None;
        };
        match dms_to_decimal(&parts, r) {
            Some(v) if v.abs() <= limit => Some(v),
            _ => {
                warnings.push(format!("{tag}: not a valid coordinate, left out"));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::exif::experimental::Writer;
    use ::exif::{Field, Rational};

    fn field(tag: Tag, value: Value) -> Field {
        Field {
            tag,
            ifd_num: In::PRIMARY,
            value,
        }
    }

    #[test]
    fn dates_read_as_people_say_them() {
        let t = |s: &str| parse_datetime(s.as_bytes(), None).unwrap().unwrap();
        assert_eq!(t("2026:05:01 08:05:12").human_date(), "Friday 1 May 2026");
        assert_eq!(
            t("1970:01:01 00:00:00").human_date(),
            "Thursday 1 January 1970"
        );
        assert_eq!(
            t("2000:02:29 12:00:00").human_date(),
            "Tuesday 29 February 2000"
        );
        assert_eq!(
            t("1927:10:24 12:00:00").human_date(),
            "Monday 24 October 1927"
        );
    }

    fn ascii(s: &str) -> Value {
        Value::Ascii(vec![s.as_bytes().to_vec()])
    }

    fn rationals(v: &[(u32, u32)]) -> Value {
        Value::Rational(v.iter().map(|&(n, d)| Rational::from((n, d))).collect())
    }

    /// A raw TIFF-structured EXIF block holding `fields`, parsed back.
    fn roundtrip(fields: &[Field]) -> Metadata {
        let mut w = Writer::new();
        for f in fields {
            w.push_field(f);
        }
        let mut buf = Cursor::new(Vec::new());
        w.write(&mut buf, false).unwrap();
        read(&buf.into_inner())
    }

    #[test]
    fn dms_to_decimal_degrees() {
        let v = dms_to_decimal(&[48.0, 51.0, 29.5], b'N').unwrap();
        assert!((v - (48.0 + 51.0 / 60.0 + 29.5 / 3600.0)).abs() < 1e-12);
        assert_eq!(dms_to_decimal(&[2.0, 17.5], b'E'), Some(2.0 + 17.5 / 60.0));
        assert_eq!(dms_to_decimal(&[12.25], b'E'), Some(12.25));
    }

    #[test]
    fn hemispheres_give_signs() {
        assert_eq!(dms_to_decimal(&[33.0, 30.0, 0.0], b'S'), Some(-33.5));
        assert_eq!(dms_to_decimal(&[70.0, 15.0, 0.0], b'W'), Some(-70.25));
        assert_eq!(dms_to_decimal(&[70.0, 15.0, 0.0], b'w'), Some(-70.25));
        assert_eq!(dms_to_decimal(&[1.0, 0.0, 0.0], b'N'), Some(1.0));
        assert_eq!(dms_to_decimal(&[1.0, 0.0, 0.0], b'X'), None);
        assert_eq!(dms_to_decimal(&[f64::NAN, 0.0, 0.0], b'N'), None);
        assert_eq!(dms_to_decimal(&[], b'N'), None);
        assert_eq!(format_position(-33.5, -70.25), "33.500 S 70.250 W");
        assert_eq!(format_position(48.8584, 2.2945), "48.858 N 2.295 E");
    }

    #[test]
    fn distances_are_great_circle_km() {
        // One degree of latitude is about 111.2 km anywhere.
        let d = distance_km((10.0, 20.0), (11.0, 20.0));
        assert!((d - 111.2).abs() < 0.1, "{d}");
        assert_eq!(distance_km((48.0, 2.0), (48.0, 2.0)), 0.0);
        // Across the antimeridian the short way round.
        assert!(distance_km((0.0, 179.99), (0.0, -179.99)) < 2.3);
    }

    #[test]
    fn datetimes_parse_validate_and_order() {
        let t = parse_datetime(b"2026:05:01 08:05:12", Some(b"+02:00"))
            .unwrap()
            .unwrap();
        assert_eq!(t.to_string(), "2026-05-01T08:05:12+02:00");
        assert_eq!((t.date(), t.clock()), ("2026-05-01".into(), "08:05".into()));
        let naive = parse_datetime(b"2014:09:19 16:08:30", None)
            .unwrap()
            .unwrap();
        assert_eq!(naive.to_string(), "2014-09-19T16:08:30");
        assert_eq!(parse_datetime(b"    :  :     :  :  ", None), Ok(None));
        assert_eq!(parse_datetime(b"0000:00:00 00:00:00", None), Ok(None));
        assert!(parse_datetime(b"2023:02:29 10:00:00", None).is_err());
        assert!(parse_datetime(b"2024:13:01 10:00:00", None).is_err());
        assert!(parse_datetime(b"yesterday", None).is_err());
        assert!(parse_datetime(b"2024:01:01 10:00:00", Some(b"+25:00")).is_err());
        // 08:00 in Paris (UTC+2) is before 07:30 in London (UTC+1).
        let paris = parse_datetime(b"2026:05:01 08:00:00", Some(b"+02:00"))
            .unwrap()
            .unwrap();
        let london = parse_datetime(b"2026:05:01 07:30:00", Some(b"+01:00"))
            .unwrap()
            .unwrap();
        assert!(paris.sort_key() < london.sort_key());
        assert_eq!(format_offset(-330), "-05:30");
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn text_is_trimmed_and_made_safe() {
        assert_eq!(clean_text(b"PENTAX K-5         "), "PENTAX K-5");
        assert_eq!(clean_text(b"evil\x1b[2Jmodel\0"), "evil[2Jmodel");
        assert_eq!(clean_text(&[b'x'; 1000]).len(), MAX_TEXT_CHARS);
        let c = Camera {
            make: Some("Canon".into()),
            model: Some("Canon PowerShot S95".into()),
            ..Default::default()
        };
        assert_eq!(c.name().unwrap(), "Canon PowerShot S95");
        let c = Camera {
            make: Some("FUJIFILM".into()),
            model: Some("X100V".into()),
            ..Default::default()
        };
        assert_eq!(c.name().unwrap(), "FUJIFILM X100V");
    }

    #[test]
    fn a_written_block_reads_back_with_every_field() {
        let fields = [
            field(Tag::Make, ascii("NIKON CORPORATION   ")),
            field(Tag::Model, ascii("NIKON D750")),
            field(Tag::LensModel, ascii("24.0-120.0 mm f/4.0")),
            field(Tag::BodySerialNumber, ascii("6001234")),
            field(Tag::Software, ascii("Ver.1.10")),
            field(Tag::Orientation, Value::Short(vec![6])),
            field(Tag::Artist, ascii("J. Doe")),
            field(Tag::Copyright, ascii("(c) J. Doe")),
            field(Tag::CameraOwnerName, ascii("Jane")),
            field(Tag::DateTimeOriginal, ascii("2021:12:31 23:59:58")),
            field(Tag::OffsetTimeOriginal, ascii("-03:00")),
            field(Tag::GPSLatitudeRef, ascii("S")),
            field(
                Tag::GPSLatitude,
                rationals(&[(22, 1), (54, 1), (3081, 100)]),
            ),
            field(Tag::GPSLongitudeRef, ascii("W")),
            field(Tag::GPSLongitude, rationals(&[(43, 1), (12, 1), (1, 2)])),
            field(Tag::GPSAltitudeRef, Value::Byte(vec![1])),
            field(Tag::GPSAltitude, rationals(&[(125, 10)])),
            field(Tag::GPSTimeStamp, rationals(&[(2, 1), (59, 1), (58, 1)])),
            field(Tag::GPSDateStamp, ascii("2022:01:01")),
        ];
        let m = roundtrip(&fields);
        assert_eq!(m.error, None);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        let g = m.gps.as_ref().unwrap();
        assert!((g.latitude.unwrap() + (22.0 + 54.0 / 60.0 + 30.81 / 3600.0)).abs() < 1e-9);
        assert!((g.longitude.unwrap() + (43.0 + 12.0 / 60.0 + 0.5 / 3600.0)).abs() < 1e-9);
        assert_eq!(g.altitude, Some(-12.5));
        assert_eq!(g.time.as_deref(), Some("2022-01-01T02:59:58Z"));
        assert_eq!(m.taken_at.unwrap().to_string(), "2021-12-31T23:59:58-03:00");
        assert_eq!(m.utc_offset.as_deref(), Some("-03:00"));
        let c = m.camera.as_ref().unwrap();
        assert_eq!(c.make.as_deref(), Some("NIKON CORPORATION"));
        assert_eq!(c.name().unwrap(), "NIKON CORPORATION NIKON D750");
        assert_eq!(c.lens.as_deref(), Some("24.0-120.0 mm f/4.0"));
        assert_eq!(c.serial.as_deref(), Some("6001234"));
        assert_eq!(m.orientation, Some(6));
        assert_eq!(m.artist.as_deref(), Some("J. Doe"));
        assert_eq!(m.copyright.as_deref(), Some("(c) J. Doe"));
        assert_eq!(m.owner.as_deref(), Some("Jane"));
        assert_eq!(m.software.as_deref(), Some("Ver.1.10"));

        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["taken_at"], "2021-12-31T23:59:58-03:00");
        assert_eq!(v["camera"]["model"], "NIKON D750");
        assert!(v.get("description").is_none(), "absent stays absent");
        assert!(v.get("error").is_none() && v.get("warnings").is_none());
    }

    #[test]
    fn broken_values_are_left_out_with_a_warning_not_guessed() {
        let m = roundtrip(&[
            field(Tag::Make, ascii("   ")),
            field(Tag::GPSLatitude, rationals(&[(48, 1), (0, 1), (0, 1)])),
            field(Tag::GPSLongitudeRef, ascii("E")),
            field(Tag::GPSLongitude, rationals(&[(2, 0), (0, 1), (0, 1)])),
            field(Tag::Orientation, Value::Short(vec![9])),
            field(Tag::DateTimeOriginal, ascii("2024:02:30 10:00:00")),
        ]);
        assert_eq!(m.camera, None, "a blank make is absent");
        assert_eq!(m.gps, None, "no usable coordinate");
        assert_eq!(m.orientation, None);
        assert_eq!(m.taken_at, None);
        assert_eq!(m.warnings.len(), 4, "{:?}", m.warnings);
        assert!(m.warnings.iter().any(|w| w.contains("hemisphere")));
    }

    #[test]
    fn files_without_exif_have_empty_metadata_and_garbage_is_an_error() {
        assert!(read(b"GIF89a....").is_empty());
        assert!(read(b"").is_empty());
        // A JPEG with no APP1 segment at all.
        assert!(read(&[0xFF, 0xD8, 0xFF, 0xD9]).is_empty());
        // An APP1 "Exif" segment whose TIFF header is garbage.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10];
        jpeg.extend_from_slice(b"Exif\0\0garbage!!");
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        let m = read(&jpeg);
        assert!(m
            .error
            .as_deref()
            .unwrap()
            .starts_with("EXIF block unreadable"));
        assert_eq!(m.camera, None);
    }
}
