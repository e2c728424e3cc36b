//! QR codes of ticket codes, as SVG (for pages and email) and PNG (for print and apps).
//!
//! The `qrcode` crate lays out the modules and draws the SVG. The PNG is drawn here from
//! its modules with the small `png` encoder rather than through the `image` crate,
//! which would add a large dependency tree for one grey-scale picture.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

/// Pixels per module in the PNG.
const PNG_SCALE: usize = 8;
/// Light modules around the code, as the QR specification asks for.
const QUIET_ZONE: usize = 4;

fn layout(text: &str) -> anyhow::Result<QrCode> {
    // Level M survives a scratched or badly lit code; ticket codes stay well within it.
    Ok(QrCode::with_error_correction_level(
        text.as_bytes(),
        EcLevel::M,
    )?)
}

/// `text` as an SVG picture.
///
/// # Errors
/// When `text` is too long for a QR code.
pub fn svg(text: &str) -> anyhow::Result<String> {
    Ok(layout(text)?
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// `text` as a grey-scale PNG picture.
///
/// # Errors
/// When `text` is too long for a QR code, or encoding fails.
pub fn png(text: &str) -> anyhow::Result<Vec<u8>> {
    let code = layout(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![255_u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (x, y) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for row in y * PNG_SCALE..(y + 1) * PNG_SCALE {
            let start = row * side + x * PNG_SCALE;
            pixels[start..start + PNG_SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    let side = u32::try_from(side)?;
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ticket code (191 base32 characters) fits a version 10 code at level M, which
    /// phone cameras read at arm's length.
    #[test]
    fn ticket_codes_fit_a_version_8_qr_code() {
        let code = layout(&"A2".repeat(96)[..191]).expect("fits");
        assert_eq!(code.version(), qrcode::Version::Normal(8));
        assert!(svg("HELLO").expect("svg").starts_with("<?xml"));
        assert!(png("HELLO").expect("png").starts_with(b"\x89PNG"));
    }
}
