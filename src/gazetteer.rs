//! Places described in words, offline: the GeoNames places of 1000 people
//! or more (`rg_cities1000.csv`, fetched by the setup like the models and
//! verified by its pinned sha256; CC BY 4.0, credited in the README and on
//! the report's page). Loaded once per run, and only when some photo states
//! a position; a missing file costs the names, never the analysis.
//!
//! The nearest place is found in a k-d tree over unit vectors (the straight
//! chord between two points on the sphere grows with the distance along
//! it), so the search is exact anywhere, poles and antimeridian included.

use std::path::Path;

use crate::error::SetupError;
use crate::exif::distance_km;
use crate::manifest::{self, Manifest, ModelId};
use crate::result::{Locality, PlaceName};

/// A larger place (one that names its region) within this distance of a
/// position is named as the area it lies in or by.
pub const CITY_RADIUS_KM: f64 = 25.0;

/// One GeoNames row.
#[derive(Debug, Clone)]
struct Row {
    lat: f64,
    lon: f64,
    name: String,
    admin1: String,
    /// It names its first- or second-level region ("Paris" in the
    /// departement "Paris", "Tokyo" in "Tokyo", "London" in "Greater
    /// London"): a city a region is called after.
    names_region: bool,
    country: String,
}

/// The gazetteer in memory: rows and a k-d tree over them.
pub struct Gazetteer {
    rows: Vec<Row>,
    /// Row indices, arranged as an implicit k-d tree: the median of each
    /// range splits it on axis depth % 3.
    tree: Vec<u32>,
    xyz: Vec<[f64; 3]>,
    /// The rows that name their region, in a tree of their own.
    cities: Vec<u32>,
    cities_tree: Vec<u32>,
}

impl std::fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gazetteer")
            .field("places", &self.rows.len())
            .field("cities", &self.cities.len())
            .finish()
    }
}

fn unit(lat: f64, lon: f64) -> [f64; 3] {
    let (la, lo) = (lat.to_radians(), lon.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

fn dist2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|k| (a[k] - b[k]).powi(2)).sum()
}

fn build(ids: &mut [u32], xyz: &[[f64; 3]], depth: usize) {
    if ids.len() <= 1 {
        return;
    }
    let axis = depth % 3;
    let mid = ids.len() / 2;
    ids.select_nth_unstable_by(mid, |&a, &b| {
        xyz[a as usize][axis].total_cmp(&xyz[b as usize][axis])
    });
    let (lo, hi) = ids.split_at_mut(mid);
    build(lo, xyz, depth + 1);
    build(&mut hi[1..], xyz, depth + 1);
}

fn nearest(
    ids: &[u32],
    xyz: &[[f64; 3]],
    q: &[f64; 3],
    depth: usize,
    best: &mut Option<(u32, f64)>,
) {
    if ids.is_empty() {
        return;
    }
    let axis = depth % 3;
    let mid = ids.len() / 2;
    let id = ids[mid];
    let p = &xyz[id as usize];
    let d = dist2(p, q);
    if best.is_none_or(|(_, b)| d < b) {
        *best = Some((id, d));
    }
    let diff = q[axis] - p[axis];
    let (near, far) = if diff < 0.0 {
        (&ids[..mid], &ids[mid + 1..])
    } else {
        (&ids[mid + 1..], &ids[..mid])
    };
    nearest(near, xyz, q, depth + 1, best);
    if best.is_none_or(|(_, b)| diff * diff < b) {
        nearest(far, xyz, q, depth + 1, best);
    }
}

/// "east-southeast": the compass direction of the 16 nearest the bearing
/// from `from` to `to`.
pub fn direction(from: (f64, f64), to: (f64, f64)) -> &'static str {
    const NAMES: [&str; 16] = [
        "north",
        "north-northeast",
        "northeast",
        "east-northeast",
        "east",
        "east-southeast",
        "southeast",
        "south-southeast",
        "south",
        "south-southwest",
        "southwest",
        "west-southwest",
        "west",
        "west-northwest",
        "northwest",
        "north-northwest",
    ];
    let (la1, la2) = (from.0.to_radians(), to.0.to_radians());
    let dl = (to.1 - from.1).to_radians();
    let y = dl.sin() * la2.cos();
    let x = la1.cos() * la2.sin() - la1.sin() * la2.cos() * dl.cos();
    let bearing = y.atan2(x).to_degrees().rem_euclid(360.0);
    NAMES[((bearing / 22.5).round() as usize) % 16]
}

fn km(d: f64) -> String {
    if d < 10.0 {
        format!("{d:.1} km")
    } else {
        format!("{d:.0} km")
    }
}

impl Gazetteer {
    /// Parses the CSV (`lat,lon,name,admin1,admin2,cc`, with a header).
    pub fn parse(text: &[u8]) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text);
        let headers = reader.headers().map_err(|e| e.to_string())?.clone();
        let want = ["lat", "lon", "name", "admin1", "admin2", "cc"];
        if headers.iter().collect::<Vec<_>>() != want {
            return Err(format!(
                "unexpected columns {:?}, expected {want:?}",
                headers.iter().collect::<Vec<_>>()
            ));
        }
        let mut rows = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| e.to_string())?;
            let num = |k: usize, max: f64| -> Result<f64, String> {
                rec[k]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.abs() <= max)
                    .ok_or_else(|| format!("row {}: bad coordinate {:?}", i + 2, &rec[k]))
            };
            let (lat, lon) = (num(0, 90.0)?, num(1, 180.0)?);
            let text = |k: usize| crate::exif::clean_text(rec[k].as_bytes());
            let (name, admin1, admin2) = (text(2), text(3), text(4));
            let names_region = !name.is_empty()
                && (name == admin1
                    || name == admin2
                    || admin2.split([' ', '-']).any(|w| w == name));
            rows.push(Row {
                lat,
                lon,
                name,
                admin1,
                names_region,
                country: text(5),
            });
        }
        if rows.is_empty() {
            return Err("no places".into());
        }
        if rows.len() > u32::MAX as usize {
            return Err("too many places".into());
        }
        let xyz: Vec<[f64; 3]> = rows.iter().map(|r| unit(r.lat, r.lon)).collect();
        let mut tree: Vec<u32> = (0..rows.len() as u32).collect();
        build(&mut tree, &xyz, 0);
        let cities: Vec<u32> = (0..rows.len() as u32)
            .filter(|&i| rows[i as usize].names_region)
            .collect();
        let mut cities_tree = cities.clone();
        build(&mut cities_tree, &xyz, 0);
        Ok(Gazetteer {
            rows,
            tree,
            xyz,
            cities,
            cities_tree,
        })
    }

    /// Loads the manifest's gazetteer from the models folder, verified
    /// by its pinned sha256.
    pub fn load(models_dir: &Path) -> Result<Self, SetupError> {
        let entry = Manifest::builtin().model(ModelId::Gazetteer)?.clone();
        let path = manifest::require_verified(&entry, models_dir)?;
        let bytes = std::fs::read(&path).map_err(|source| SetupError::Io {
            path: path.clone(),
            source,
        })?;
        Self::parse(&bytes).map_err(|reason| SetupError::Gazetteer { path, reason })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many rows name their region (the candidates for "central X").
    pub fn cities(&self) -> usize {
        self.cities.len()
    }

    fn locality(&self, id: u32, pos: (f64, f64)) -> Locality {
        let r = &self.rows[id as usize];
        Locality {
            name: r.name.clone(),
            latitude: r.lat,
            longitude: r.lon,
            distance_km: distance_km((r.lat, r.lon), pos),
            direction: direction((r.lat, r.lon), pos).to_string(),
        }
    }

    /// The position in words: the nearest place, and the nearest place
    /// naming its region when that is another within [`CITY_RADIUS_KM`].
    pub fn describe(&self, lat: f64, lon: f64) -> PlaceName {
        let q = unit(lat, lon);
        let mut best = None;
        nearest(&self.tree, &self.xyz, &q, 0, &mut best);
        // parse() refuses an empty gazetteer.
        let (id, _) = best.expect("a gazetteer has rows");
        let row = &self.rows[id as usize];
        let near = self.locality(id, (lat, lon));
        let mut best_city = None;
        nearest(&self.cities_tree, &self.xyz, &q, 0, &mut best_city);
        let city = best_city
            .filter(|&(c, _)| c != id)
            .map(|(c, _)| self.locality(c, (lat, lon)))
            .filter(|c| c.distance_km <= CITY_RADIUS_KM);
        let region = match (row.admin1.is_empty(), row.country.is_empty()) {
            (false, false) => format!(" ({}, {})", row.admin1, row.country),
            (true, false) => format!(" ({})", row.country),
            (false, true) => format!(" ({})", row.admin1),
            (true, true) => String::new(),
        };
        let place = |l: &Locality, central: &str| {
            if l.distance_km < 0.5 {
                format!("in {central}{}", l.name)
            } else {
                format!(
                    "{} {} of {central}{}",
                    km(l.distance_km),
                    l.direction,
                    l.name
                )
            }
        };
        let words = match &city {
            Some(c) => format!("near {}, {}{region}", near.name, place(c, "central ")),
            None if near.distance_km < 0.5 => format!("in {}{region}", near.name),
            None => format!("near {}, {}{region}", near.name, place(&near, "")),
        };
        PlaceName {
            words,
            area: city.as_ref().unwrap_or(&near).name.clone(),
            nearest: near,
            city,
            region: row.admin1.clone(),
            country: row.country.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &str = "lat,lon,name,admin1,admin2,cc\n\
        48.85341,2.3488,Paris,Ile-de-France,Paris,FR\n\
        48.84721,2.43793,Vincennes,Ile-de-France,Departement du Val-de-Marne,FR\n\
        48.84171,2.41932,Saint-Mande,Ile-de-France,Departement du Val-de-Marne,FR\n\
        33.66094,-95.55551,Paris,Texas,Lamar County,US\n\
        -16.5,179.9,Labasa East,Northern,,FJ\n\
        -16.5,-179.9,Across,Eastern,,FJ\n\
        \"Rueti / Dorfzentrum, Suedl. Teil\",8.85654,x,y,z,CH\n";

    fn synthetic() -> Gazetteer {
        // The last row is malformed on purpose: drop it for the good set.
        let good: String = ROWS.lines().take(7).collect::<Vec<_>>().join("\n");
        Gazetteer::parse(good.as_bytes()).unwrap()
    }

    #[test]
    fn a_position_gets_its_nearest_place_and_the_city_nearby() {
        let g = synthetic();
        assert_eq!(g.len(), 6);
        assert_eq!(
            g.cities(),
            1,
            "Paris, France names its departement; Paris, Texas does not"
        );
        // In the Bois de Vincennes.
        let p = g.describe(48.8427, 2.4353);
        assert_eq!(p.nearest.name, "Vincennes");
        assert!(p.nearest.distance_km < 1.0);
        let c = p.city.as_ref().unwrap();
        assert_eq!((c.name.as_str(), c.direction.as_str()), ("Paris", "east"));
        assert_eq!(p.area, "Paris");
        assert_eq!(p.country, "FR");
        assert_eq!(
            p.words,
            "near Vincennes, 6.4 km east of central Paris (Ile-de-France, FR)"
        );
    }

    #[test]
    fn at_a_place_itself_it_is_in_it_and_no_city_is_invented() {
        let g = synthetic();
        let p = g.describe(48.8534, 2.3489);
        assert_eq!(p.words, "in Paris (Ile-de-France, FR)");
        assert_eq!(p.city, None);
        // Far from any place naming its region: the nearest place alone.
        let p = g.describe(33.7, -95.4);
        assert_eq!(p.area, "Paris");
        assert_eq!(p.region, "Texas");
        let p = g.describe(-16.4, 179.95);
        assert_eq!(p.city, None);
        assert_eq!(p.area, "Labasa East");
    }

    #[test]
    fn the_search_is_exact_across_the_antimeridian() {
        let g = synthetic();
        // 0.02 degrees east of the antimeridian is nearer "Across".
        assert_eq!(g.describe(-16.5, -179.98).nearest.name, "Across");
        assert_eq!(g.describe(-16.5, 179.98).nearest.name, "Labasa East");
    }

    #[test]
    fn the_tree_agrees_with_a_scan() {
        // A grid of synthetic places and many queries: the k-d tree's
        // answer is the brute-force nearest.
        let mut csv = String::from("lat,lon,name,admin1,admin2,cc\n");
        for i in 0..40 {
            for j in 0..40 {
                let (lat, lon) = (-80.0 + i as f64 * 4.1, -179.0 + j as f64 * 8.95);
                csv.push_str(&format!("{lat},{lon},p{i}_{j},r,,XX\n"));
            }
        }
        let g = Gazetteer::parse(csv.as_bytes()).unwrap();
        for k in 0..500 {
            let lat = ((k * 37) % 179) as f64 - 89.0 + 0.3;
            let lon = ((k * 53) % 359) as f64 - 179.0 + 0.7;
            let got = g.describe(lat, lon).nearest.distance_km;
            let want = g
                .rows
                .iter()
                .map(|r| distance_km((r.lat, r.lon), (lat, lon)))
                .fold(f64::MAX, f64::min);
            assert!((got - want).abs() < 1e-9, "{lat},{lon}: {got} vs {want}");
        }
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        assert!(Gazetteer::parse(ROWS.as_bytes())
            .unwrap_err()
            .contains("bad coordinate"));
        assert!(Gazetteer::parse(b"a,b\n1,2\n")
            .unwrap_err()
            .contains("unexpected columns"));
        assert_eq!(
            Gazetteer::parse(b"lat,lon,name,admin1,admin2,cc\n").unwrap_err(),
            "no places"
        );
    }

    #[test]
    fn directions() {
        assert_eq!(direction((0.0, 0.0), (1.0, 0.0)), "north");
        assert_eq!(direction((0.0, 0.0), (0.0, 1.0)), "east");
        assert_eq!(direction((0.0, 0.0), (-1.0, -1.0)), "southwest");
    }
}
