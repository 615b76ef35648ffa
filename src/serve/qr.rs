//! The `--listen` address as a QR code on the terminal, for phones.

use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;

/// `url` as a QR code in block characters, two modules per line, with its
/// quiet zone. Blocks are drawn in the terminal's text colour, usually
/// light on dark, so the code's light modules are the drawn ones and a
/// phone sees dark modules on light, as QR codes are read.
pub(crate) fn text(url: &str) -> Option<String> {
    let code = QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The printed blocks as a terminal shows them (drawn = light), four
    /// pixels per module, read back by a QR decoder.
    #[test]
    fn the_printed_code_reads_back_as_the_url() {
        let url = "http://192.168.1.20:8737/?token=0123456789abcdef0123456789abcdef";
        let printed = text(url).unwrap();
        let rows: Vec<Vec<char>> = printed.lines().map(|l| l.chars().collect()).collect();
        let width = rows[0].len();
        assert!(rows.iter().all(|r| r.len() == width));
        let scale = 4;
        let (w, h) = (width * scale, rows.len() * 2 * scale);
        let img = image::GrayImage::from_fn(w as u32, h as u32, |x, y| {
            let c = rows[y as usize / (2 * scale)][x as usize / scale];
            let top = (y as usize / scale).is_multiple_of(2);
            let drawn = match c {
                '█' => true,
                '▀' => top,
                '▄' => !top,
                ' ' => false,
                other => panic!("unexpected {other:?}"),
            };
            image::Luma([if drawn { 255 } else { 0 }])
        });
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, url);
    }
}
