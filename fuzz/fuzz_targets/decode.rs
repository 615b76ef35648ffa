//! The per-image entry point on arbitrary bytes, as the pipeline runs it on
//! every file: the metadata reader (`exif::read`), then format sniffing,
//! header checks against the limits, decoding, EXIF orientation, RGB8.
//! A panic (caught by `decode` in production, but seen here through
//! libFuzzer's panic hook), a crash, a hang or an allocation far over the
//! limit is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onlooker::exif;
use onlooker::imageio::{decode, DecodeLimits};

/// Smaller than the defaults so that each input stays fast: 4096 pixels a
/// side, 64 MiB per image. `make fuzz` runs libFuzzer with a malloc limit
/// well above 64 MiB, so a decoder that allocates past the limit shows.
const MAX_SIDE: u32 = 4096;
const MAX_ALLOC_MIB: u64 = 64;

fuzz_target!(|data: &[u8]| {
    let _ = exif::read(data);
    let limits = DecodeLimits::new(MAX_SIDE, MAX_ALLOC_MIB, 16);
    if let Ok(img) = decode(data.to_vec(), &limits) {
        let (w, h) = img.rgb.dimensions();
        assert!(w > 0 && h > 0 && w <= MAX_SIDE && h <= MAX_SIDE);
        assert_eq!(img.rgb.as_raw().len(), w as usize * h as usize * 3);
        assert!((1..=8).contains(&img.exif_orientation));
    }
});
