//! Evidence photos for the demo: small real JPEGs of a made-up scene (sky, fields, a house
//! with its roof and door), every seed a different picture. The same seed encoded at
//! another quality is the same picture to the eye and to the perceptual hash: a reused
//! photo.

use std::io::Cursor;

use image::{Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::infra::error::{Error, Result};

const WIDTH: u32 = 192;
const HEIGHT: u32 = 144;

fn colour(rng: &mut StdRng, base: [u8; 3], spread: u8) -> [u8; 3] {
    base.map(|c| c.saturating_add(rng.random_range(0..=spread)))
}

/// The scene of `seed`, as pixels.
fn scene(seed: u64) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let sky = colour(&mut rng, [110, 150, 190], 60);
    let field = colour(&mut rng, [60, 100, 30], 80);
    let wall = colour(&mut rng, [150, 120, 90], 100);
    let roof = colour(&mut rng, [60, 40, 40], 120);
    let horizon = rng.random_range(HEIGHT / 3..HEIGHT * 2 / 3);
    let (hx, hw) = (
        rng.random_range(10..WIDTH / 2),
        rng.random_range(WIDTH / 4..WIDTH / 2),
    );
    let (top, bottom) = (rng.random_range(horizon / 2..horizon), horizon + HEIGHT / 6);
    let roof_h = rng.random_range(12..30).min(top);
    let (door, ridge) = (hx + hw / 2, top - roof_h);
    // A gable: as wide as the house at the eaves, narrowing to the ridge.
    let in_roof = |x: u32, y: u32| {
        (ridge..top).contains(&y) && x.abs_diff(door) * roof_h <= (y - ridge) * hw / 2
    };
    RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let in_house = (hx..hx + hw).contains(&x);
        let px = if in_house && (top..bottom).contains(&y) {
            if (door.saturating_sub(6)..door + 6).contains(&x) && y > bottom - 22 {
                [50, 35, 25]
            } else {
                wall
            }
        } else if in_roof(x, y) {
            roof
        } else if y < horizon {
            let fade = u8::try_from(y * 40 / HEIGHT).unwrap_or(0);
            sky.map(|c| c.saturating_add(fade))
        } else {
            let furrow = if (y / 6) % 2 == 0 { 12 } else { 0 };
            field.map(|c| c.saturating_sub(furrow))
        };
        Rgb(px)
    })
}

/// The picture of `seed` as a JPEG of `quality` (1–100).
pub fn jpeg(seed: u64, quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), quality)
        .encode_image(&scene(seed))
        .map_err(|e| Error::internal(format!("demo photo: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_small_jpegs_different_per_seed() {
        let a = jpeg(1, 75).unwrap_or_default();
        let b = jpeg(2, 75).unwrap_or_default();
        assert!(a.starts_with(&[0xFF, 0xD8]), "a JPEG");
        assert!(a.len() < 20_000, "{} bytes", a.len());
        assert_ne!(a, b);
        assert_eq!(
            a,
            jpeg(1, 75).unwrap_or_default(),
            "the same seed, the same file"
        );
        assert_ne!(
            a,
            jpeg(1, 60).unwrap_or_default(),
            "another quality, other bytes"
        );
    }
}
