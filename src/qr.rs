//! Rendering QR codes (PNG and SVG). What goes *into* a code is decided elsewhere (signed tokens).

use std::io::Cursor;

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::error::{ServiceError, ServiceResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Svg => "image/svg+xml",
        }
    }
}

pub const MIN_SIZE: u32 = 64;
pub const MAX_SIZE: u32 = 2048;

/// Error-correction level by letter: L, M (default), Q, H.
pub fn ec_level(letter: Option<&str>) -> ServiceResult<EcLevel> {
    let letter = letter.unwrap_or("M");
    EC_LEVELS
        .iter()
        .find(|(name, _)| *name == letter)
        .map(|(_, level)| *level)
        .ok_or_else(|| ServiceError::validation("ec", "must be L, M, Q or H"))
}

/// The error-correction levels by letter, as the contract lists them.
pub const EC_LEVELS: &[(&str, EcLevel)] = &[
    ("L", EcLevel::L),
    ("M", EcLevel::M),
    ("Q", EcLevel::Q),
    ("H", EcLevel::H),
];

/// Renders `data` as a square code of at least `size` pixels, with the standard quiet zone.
pub fn render(data: &str, format: Format, size: u32, level: EcLevel) -> ServiceResult<Vec<u8>> {
    if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
        return Err(ServiceError::validation(
            "size",
            format!("must be between {MIN_SIZE} and {MAX_SIZE} pixels"),
        ));
    }
    let code = QrCode::with_error_correction_level(data.as_bytes(), level)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("QR encoding failed: {e}")))?;
    match format {
        Format::Svg => Ok(code
            .render::<svg::Color<'_>>()
            .min_dimensions(size, size)
            .build()
            .into_bytes()),
        Format::Png => {
            let image = code
                .render::<image::Luma<u8>>()
                .min_dimensions(size, size)
                .build();
            let mut png = Vec::new();
            image
                .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("PNG encoding failed: {e}")))?;
            Ok(png)
        }
    }
}

/// Modules of quiet zone around a code, as the standard asks.
const QUIET_ZONE: usize = 4;

/// The dark modules of `data`'s code as SVG path data: the code with its quiet zone fills the
/// square of side `side` at (`x`, `y`), in the caller's units. Each run of dark modules in a row is
/// one rectangle (`M x y h w v m h -w z`), so the sheet stays small and prints sharp at any size.
pub fn svg_path(data: &str, level: EcLevel, x: f64, y: f64, side: f64) -> ServiceResult<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), level)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("QR encoding failed: {e}")))?;
    let width = code.width();
    let module = side / (width + 2 * QUIET_ZONE) as f64;
    let colors = code.to_colors();
    let mut path = String::new();
    for (row, line) in colors.chunks(width).enumerate() {
        let mut column = 0;
        while column < width {
            if line[column] != qrcode::Color::Dark {
                column += 1;
                continue;
            }
            let start = column;
            while column < width && line[column] == qrcode::Color::Dark {
                column += 1;
            }
            let run = (column - start) as f64 * module;
            path.push_str(&format!(
                "M{:.3} {:.3}h{run:.3}v{module:.3}h-{run:.3}z",
                x + (QUIET_ZONE + start) as f64 * module,
                y + (QUIET_ZONE + row) as f64 * module,
            ));
        }
    }
    Ok(path)
}
