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

/// A tree: a crown (a disc) on a trunk, standing on the ground at `foot`.
struct Tree {
    x: u32,
    foot: u32,
    crown: u32,
    shade: [u8; 3],
}

/// A cloud: a flattened bright ellipse.
struct Cloud {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

/// The scene of `seed`, as pixels: sky with clouds, field plots of different crops, a
/// house and trees, all placed at random. What tells pictures apart to the perceptual hash
/// is brightness changing from left to right, so every seed gets its own plots, clouds and
/// trees across the whole width, not only its own colours.
fn scene(seed: u64) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let sky = colour(&mut rng, [110, 150, 190], 60);
    let wall = colour(&mut rng, [150, 120, 90], 100);
    let roof = colour(&mut rng, [60, 40, 40], 120);
    let horizon = rng.random_range(HEIGHT / 3..HEIGHT * 2 / 3);
    // Field plots: cut points across the width, each plot its own crop's colour.
    let mut cuts: Vec<u32> = (0..rng.random_range(3..7))
        .map(|_| rng.random_range(0..WIDTH))
        .collect();
    cuts.sort_unstable();
    let plots: Vec<[u8; 3]> = (0..=cuts.len())
        .map(|_| match rng.random_range(0..4) {
            0 => colour(&mut rng, [40, 90, 20], 60),   // green crop
            1 => colour(&mut rng, [150, 130, 50], 70), // ripe grain
            2 => colour(&mut rng, [90, 60, 40], 50),   // ploughed earth
            _ => colour(&mut rng, [70, 110, 60], 60),  // grass
        })
        .collect();
    let clouds: Vec<Cloud> = (0..rng.random_range(1..5))
        .map(|_| Cloud {
            x: rng.random_range(0..WIDTH),
            y: rng.random_range(0..horizon.max(2)),
            w: rng.random_range(12..50),
            h: rng.random_range(4..12),
        })
        .collect();
    let trees: Vec<Tree> = (0..rng.random_range(1..6))
        .map(|_| {
            let foot = rng.random_range(horizon..HEIGHT);
            Tree {
                x: rng.random_range(0..WIDTH),
                foot,
                crown: rng.random_range(5..16),
                shade: colour(&mut rng, [15, 50, 15], 40),
            }
        })
        .collect();
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
    let in_cloud = |x: u32, y: u32| {
        clouds.iter().any(|c| {
            let (dx, dy) = (u64::from(x.abs_diff(c.x)), u64::from(y.abs_diff(c.y)));
            let (w, h) = (u64::from(c.w), u64::from(c.h));
            dx * dx * h * h + dy * dy * w * w <= w * w * h * h
        })
    };
    let tree_at = |x: u32, y: u32| {
        trees.iter().find_map(|t| {
            let centre = t.foot.saturating_sub(t.crown * 2);
            let (dx, dy) = (x.abs_diff(t.x), y.abs_diff(centre));
            if dx * dx + dy * dy <= t.crown * t.crown {
                Some(t.shade)
            } else if dx <= 1 && (centre..t.foot).contains(&y) {
                Some([60, 40, 25])
            } else {
                None
            }
        })
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
        } else if let Some(shade) = tree_at(x, y) {
            shade
        } else if y < horizon {
            if in_cloud(x, y) {
                [235, 238, 242]
            } else {
                let fade = u8::try_from(y * 40 / HEIGHT).unwrap_or(0);
                sky.map(|c| c.saturating_add(fade))
            }
        } else {
            let plot = plots[cuts.partition_point(|&c| c <= x)];
            let furrow = if (y / 6) % 2 == 0 { 12 } else { 0 };
            plot.map(|c| c.saturating_sub(furrow))
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
    use crate::photos::evidence_rules::same_picture;

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

    fn hash(seed: u64, quality: u8) -> i64 {
        let bytes = jpeg(seed, quality).unwrap_or_default();
        let img = image::load_from_memory(&bytes).expect("decodes");
        crate::photos::phash::dhash(&img)
    }

    #[test]
    fn a_reencoded_picture_is_the_same_picture() {
        for seed in 0..20 {
            assert!(same_picture(hash(seed, 80), hash(seed, 62)), "seed {seed}");
        }
    }

    #[test]
    fn different_seeds_are_rarely_taken_for_one_picture() {
        // The demo's visits are hundreds of pictures: only the ones made as reuses may be
        // flagged, so nearly every pair of seeds must look different to the hash.
        let hashes: Vec<i64> = (0..300).map(|s| hash(s, 80)).collect();
        let twinned = (0..hashes.len())
            .filter(|&i| (0..hashes.len()).any(|j| j != i && same_picture(hashes[i], hashes[j])))
            .count();
        assert!(twinned <= 3, "{twinned} of 300 pictures have a near twin");
    }
}
