//! Perceptual hash (dHash): 64 bits saying, row by row of a 9×8 grey miniature, whether
//! each cell is brighter than its right neighbour. Re-encoding, resizing or light editing
//! moves a few bits; a different picture differs in about half of them.

use image::DynamicImage;
use image::imageops::FilterType;

/// The dHash of a decoded image, as a signed integer (how it is stored).
pub fn dhash(img: &DynamicImage) -> i64 {
    let small = img.resize_exact(9, 8, FilterType::Triangle).to_luma8();
    let mut h: u64 = 0;
    for y in 0..8 {
        for x in 0..8 {
            h <<= 1;
            if small.get_pixel(x, y)[0] > small.get_pixel(x + 1, y)[0] {
                h |= 1;
            }
        }
    }
    h as i64
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::photos::evidence_rules::{hash_distance, same_picture};

    /// A picture of random grey blocks, like a scene with large shapes.
    fn blocks(seed: u32, side: u32) -> DynamicImage {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(7);
        let cells: Vec<u8> = (0..64)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x.to_le_bytes()[0]
            })
            .collect();
        let img = image::GrayImage::from_fn(side, side, |px, py| {
            let (cx, cy) = (px * 8 / side, py * 8 / side);
            image::Luma([cells[(cy * 8 + cx) as usize]])
        });
        DynamicImage::ImageLuma8(img)
    }

    fn reencoded(img: &DynamicImage, side: u32, quality: u8) -> DynamicImage {
        let mut out = Vec::new();
        let small = img.resize(side, side, FilterType::Lanczos3).to_rgb8();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&small)
            .ok();
        image::load_from_memory(&out).unwrap_or_default()
    }

    #[test]
    fn the_same_picture_resized_and_recompressed_hashes_alike() {
        for seed in 1..20 {
            let original = blocks(seed, 800);
            let copy = reencoded(&original, 333, 55);
            let (a, b) = (dhash(&original), dhash(&copy));
            assert!(
                same_picture(a, b),
                "seed {seed}: {} bits",
                hash_distance(a, b)
            );
        }
    }

    #[test]
    fn different_pictures_hash_apart() {
        let hashes: Vec<i64> = (1..30).map(|s| dhash(&blocks(s, 256))).collect();
        for (i, a) in hashes.iter().enumerate() {
            for b in &hashes[i + 1..] {
                assert!(!same_picture(*a, *b), "{a:x} {b:x}");
            }
        }
        // A JPEG round trip of the bytes the tests elsewhere use decodes the same way.
        let mut bytes = Vec::new();
        blocks(3, 64)
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .ok();
        let back = image::load_from_memory(&bytes).unwrap_or_default();
        assert_eq!(dhash(&back), dhash(&blocks(3, 64)));
    }
}
