//! Country outlines, offline: Natural Earth's 1:110m Admin 0 countries
//! (public domain), the `naturalearth_lowres` shapefile of the geopandas
//! 0.14.4 wheel, fetched by the setup and verified by its pinned sha256
//! like the models. Read only when a report draws a map, for the map's
//! inset; a missing file costs the inset, never the report.
//!
//! Outlines are kept in degrees, (longitude, latitude), as the file has
//! them (WGS 84).

use std::io::Cursor;
use std::path::Path;

use shapefile::dbase::{self, FieldValue};

use crate::error::SetupError;
use crate::manifest::{self, Manifest, ModelId};

/// One closed ring of an outline: its points and their bounding box.
#[derive(Debug, Clone)]
pub(crate) struct Ring {
    /// (longitude, latitude) in degrees; the last point repeats the first.
    pub(crate) points: Vec<(f64, f64)>,
    /// Whether it bounds land (else it is a hole in the land around it).
    pub(crate) outer: bool,
    /// min longitude, min latitude, max longitude, max latitude.
    pub(crate) bbox: [f64; 4],
}

impl Ring {
    pub(crate) fn new(points: Vec<(f64, f64)>, outer: bool) -> Ring {
        let bbox = points
            .iter()
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, &(x, y)| {
                [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
            });
        Ring {
            points,
            outer,
            bbox,
        }
    }

    /// Whether `p` lies inside the ring (a crossing count; on the boundary
    /// either answer).
    pub(crate) fn contains(&self, p: (f64, f64)) -> bool {
        let b = &self.bbox;
        if p.0 < b[0] || p.0 > b[2] || p.1 < b[1] || p.1 > b[3] {
            return false;
        }
        let mut inside = false;
        for w in self.points.windows(2) {
            let ((x1, y1), (x2, y2)) = (w[0], w[1]);
            if (y1 > p.1) != (y2 > p.1) && p.0 < x1 + (p.1 - y1) / (y2 - y1) * (x2 - x1) {
                inside = !inside;
            }
        }
        inside
    }
}

/// One country: its name and every ring of its outline (all its parts,
/// and their holes).
#[derive(Debug, Clone)]
pub(crate) struct Country {
    pub(crate) name: String,
    pub(crate) rings: Vec<Ring>,
}

impl Country {
    /// Whether `p` is on the country's land: inside an odd number of its
    /// rings, so a point in a hole (Lesotho in South Africa) is not.
    pub(crate) fn contains(&self, p: (f64, f64)) -> bool {
        self.rings.iter().filter(|r| r.contains(p)).count() % 2 == 1
    }

    /// The outer ring holding `p` (the part of the country it is on).
    pub(crate) fn part_at(&self, p: (f64, f64)) -> Option<&Ring> {
        if !self.contains(p) {
            return None;
        }
        self.rings
            .iter()
            .filter(|r| r.outer && r.contains(p))
            .min_by(|a, b| area(&a.bbox).total_cmp(&area(&b.bbox)))
    }
}

fn area(b: &[f64; 4]) -> f64 {
    (b[2] - b[0]) * (b[3] - b[1])
}

/// The country outlines in memory.
pub struct Countries {
    countries: Vec<Country>,
}

impl std::fmt::Debug for Countries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Countries")
            .field("countries", &self.countries.len())
            .finish()
    }
}

impl Countries {
    /// Countries from outlines already in memory.
    #[cfg(test)]
    pub(crate) fn from_countries(countries: Vec<Country>) -> Countries {
        Countries { countries }
    }

    /// Parses a polygon shapefile (`.shp`) and its attribute table
    /// (`.dbf`, Latin-1 text, with a `name` column), record by record.
    pub fn parse(shp: &[u8], dbf: &[u8]) -> Result<Self, String> {
        let shapes = shapefile::ShapeReader::new(Cursor::new(shp)).map_err(|e| e.to_string())?;
        let table = dbase::ReaderBuilder::new()
            .with_encoding(dbase::encoding::LossyCodePage(
                dbase::yore::code_pages::CP1252,
            ))
            .build(Cursor::new(dbf))
            .map_err(|e| format!("attribute table: {e}"))?;
        let mut reader = shapefile::Reader::new(shapes, table);
        let mut countries = Vec::new();
        for (i, item) in reader
            .iter_shapes_and_records_as::<shapefile::Polygon, dbase::Record>()
            .enumerate()
        {
            let (polygon, record) = item.map_err(|e| format!("record {}: {e}", i + 1))?;
            let name = match record.get("name") {
                Some(FieldValue::Character(Some(s))) => s.trim().to_string(),
                Some(FieldValue::Character(None)) => String::new(),
                _ => return Err(format!("record {}: no text field `name`", i + 1)),
            };
            let mut rings = Vec::new();
            for ring in polygon.rings() {
                let points: Vec<(f64, f64)> = ring.points().iter().map(|p| (p.x, p.y)).collect();
                // Natural Earth's antimeridian points are 180 give or take
                // a rounding error.
                let on_globe = |v: f64, max: f64| v.abs() <= max + 1e-6;
                if let Some(bad) = points
                    .iter()
                    .find(|(x, y)| !(on_globe(*x, 180.0) && on_globe(*y, 90.0)))
                {
                    return Err(format!(
                        "record {} ({name}): a point off the globe ({}, {})",
                        i + 1,
                        bad.0,
                        bad.1
                    ));
                }
                if points.len() >= 4 {
                    let outer = matches!(ring, shapefile::PolygonRing::Outer(_));
                    rings.push(Ring::new(points, outer));
                }
            }
            countries.push(Country { name, rings });
        }
        if countries.is_empty() {
            return Err("no countries".into());
        }
        Ok(Countries { countries })
    }

    /// Loads the manifest's outlines and names from the models folder,
    /// each verified by its pinned sha256.
    pub fn load(models_dir: &Path) -> Result<Self, SetupError> {
        let m = Manifest::builtin();
        let read = |id: ModelId| -> Result<(std::path::PathBuf, Vec<u8>), SetupError> {
            let entry = m.model(id)?;
            let path = manifest::require_verified(entry, models_dir)?;
            let bytes = std::fs::read(&path).map_err(|source| SetupError::Io {
                path: path.clone(),
                source,
            })?;
            Ok((path, bytes))
        };
        let (path, shp) = read(ModelId::Countries)?;
        let (dbf_path, dbf) = read(ModelId::CountryNames)?;
        Self::parse(&shp, &dbf).map_err(|reason| SetupError::Countries {
            path,
            dbf: dbf_path,
            reason,
        })
    }

    pub fn len(&self) -> usize {
        self.countries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.countries.is_empty()
    }

    pub(crate) fn all(&self) -> &[Country] {
        &self.countries
    }

    /// The country whose land holds `(lat, lon)`, with the part holding
    /// it; None at sea (or on an island too small for 1:110m).
    pub(crate) fn at(&self, lat: f64, lon: f64) -> Option<(&Country, &Ring)> {
        let p = (lon, lat);
        self.countries
            .iter()
            .find_map(|c| c.part_at(p).map(|r| (c, r)))
    }

    /// The name of the country holding `(lat, lon)`, if any.
    pub fn name_at(&self, lat: f64, lon: f64) -> Option<&str> {
        self.at(lat, lon).map(|(c, _)| c.name.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A closed square ring, clockwise in (x, y) as a shapefile's outer
    /// rings are; `outer` false makes it a hole.
    pub(crate) fn square(x0: f64, y0: f64, side: f64, outer: bool) -> Ring {
        let (x1, y1) = (x0 + side, y0 + side);
        let mut pts = vec![(x0, y0), (x0, y1), (x1, y1), (x1, y0), (x0, y0)];
        if !outer {
            pts.reverse();
        }
        Ring::new(pts, outer)
    }

    /// Two countries: "Ring" is a 10-degree square with a 4-degree hole
    /// ("Hole", a country of its own) and a small island part far away.
    pub(crate) fn synthetic() -> Countries {
        Countries::from_countries(vec![
            Country {
                name: "Ring".into(),
                rings: vec![
                    square(0.0, 40.0, 10.0, true),
                    square(3.0, 43.0, 4.0, false),
                    square(30.0, 40.0, 1.0, true),
                ],
            },
            Country {
                name: "Hole".into(),
                rings: vec![square(3.0, 43.0, 4.0, true)],
            },
        ])
    }

    #[test]
    fn a_point_is_in_the_country_whose_land_holds_it_holes_and_parts_included() {
        let c = synthetic();
        assert_eq!(c.name_at(41.0, 1.0), Some("Ring"));
        // In the hole: the country inside it, not the one around it.
        assert_eq!(c.name_at(45.0, 5.0), Some("Hole"));
        assert!(!c.all()[0].contains((5.0, 45.0)));
        // On the island part, and the part found is the island's.
        let (country, part) = c.at(40.5, 30.5).unwrap();
        assert_eq!(country.name, "Ring");
        assert_eq!(part.bbox, [30.0, 40.0, 31.0, 41.0]);
        // At sea.
        assert_eq!(c.name_at(0.0, 0.0), None);
        assert_eq!(c.name_at(45.0, 20.0), None);
    }

    #[test]
    fn a_ring_tells_inside_from_outside_for_a_concave_outline() {
        // An L: the notch at the top right is outside.
        let l = Ring::new(
            vec![
                (0.0, 0.0),
                (0.0, 2.0),
                (1.0, 2.0),
                (1.0, 1.0),
                (2.0, 1.0),
                (2.0, 0.0),
                (0.0, 0.0),
            ],
            true,
        );
        assert!(l.contains((0.5, 1.5)));
        assert!(l.contains((1.5, 0.5)));
        assert!(!l.contains((1.5, 1.5)));
        assert!(!l.contains((-0.5, 0.5)));
    }

    #[test]
    fn bad_files_are_refused_with_a_reason_never_a_panic() {
        assert!(Countries::parse(b"", b"").is_err());
        assert!(Countries::parse(&[0u8; 100], &[0u8; 40]).is_err());
        // The real files, cut short or with a byte changed anywhere in
        // their headers: an error or fewer countries, never a panic.
        let dir = crate::runtime::default_models_dir();
        let (Ok(shp), Ok(dbf)) = (
            std::fs::read(dir.join("naturalearth_lowres.shp")),
            std::fs::read(dir.join("naturalearth_lowres.dbf")),
        ) else {
            eprintln!("SKIPPED the corrupt-file cases: run `make models`");
            return;
        };
        let whole = Countries::parse(&shp, &dbf).unwrap();
        assert_eq!(whole.len(), 177);
        for cut in [0, 50, 99, 100, 101, 150, 5000, shp.len() - 1] {
            let _ = Countries::parse(&shp[..cut], &dbf);
        }
        for cut in [0, 10, 32, 100, 400, dbf.len() - 1] {
            let _ = Countries::parse(&shp, &dbf[..cut]);
        }
        for at in (0..200).chain([100 + 8 + 36, 100 + 8 + 40]) {
            for v in [0x00, 0x7f, 0xff] {
                let mut s = shp.clone();
                s[at] = v;
                let _ = Countries::parse(&s, &dbf);
                let mut d = dbf.clone();
                if at < d.len() {
                    d[at] = v;
                    let _ = Countries::parse(&shp, &d);
                }
            }
        }
    }
}
