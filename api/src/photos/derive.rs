//! Resized copies (thumbnail, medium), the copy without metadata and the perceptual hash,
//! made after an upload has been answered, on the copy thread ([`crate::photos::worker`]), so one
//! image is decoded at a time. Decoding is bounded (pixel and memory limits). HEIF and PDF
//! are stored without resized copies: no HEVC decoder is built in.

use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use actix_web::web::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::photos::sniff::FileType;
use crate::photos::strip;

/// Long side of the thumbnail and of the medium size, in pixels.
pub const THUMB_PX: u32 = 320;
pub const MEDIUM_PX: u32 = 1600;
/// The most pixels a photo may have: 64 megapixels (a 48-megapixel phone's full size fits;
/// 8,000 × 8,000 does). Checked from the header at upload and again before decoding.
pub const MAX_PIXELS: u64 = 64_000_000;
/// Largest image decoded: 16,384 pixels a side, 512 MiB of decoder memory at most.
const MAX_SIDE: u32 = 16_384;
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// What was made from one original.
#[derive(Debug, Default)]
pub struct Derived {
    /// The thumbnail, unless the original is its own.
    pub thumb: Option<Bytes>,
    /// The medium size, unless the original is its own.
    pub medium: Option<Bytes>,
    pub stripped: Option<Bytes>,
    /// Perceptual hash of the upright picture.
    pub dhash: Option<i64>,
    /// The original's bytes serve as the medium size: an upright JPEG without metadata
    /// within it. A second file of the same bytes is never stored.
    pub medium_is_original: bool,
    /// And as the thumbnail.
    pub thumb_is_original: bool,
}

/// Pixels a side the perceptual hash needs at least (it looks at 9 × 8).
const HASH_PX: u32 = 32;

fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_ALLOC);
    l
}

fn format(ty: FileType) -> Option<image::ImageFormat> {
    match ty {
        FileType::Jpeg => Some(image::ImageFormat::Jpeg),
        FileType::Png => Some(image::ImageFormat::Png),
        FileType::WebP => Some(image::ImageFormat::WebP),
        _ => None,
    }
}

/// Where the header of a JPEG, PNG or WebP lies, nearly always: the decoders read what
/// they are given whole, so only this much is given to them first.
const HEADER_PREFIX: u64 = 512 * 1024;

/// Width and height from the header alone; `Err` if the image is not legible.
pub fn dimensions(path: &Path, ty: FileType) -> Result<(u32, u32), String> {
    let Some(fmt) = format(ty) else {
        return Err("not decodable".into());
    };
    let read = |limit: u64| {
        let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let mut r = ImageReader::with_format(BufReader::new(f.take(limit)), fmt);
        r.limits(limits());
        r.into_dimensions().map_err(|e| e.to_string())
    };
    // A header past the prefix (a very large EXIF block) is read from the whole file.
    read(HEADER_PREFIX).or_else(|_| read(u64::MAX))
}

fn jpeg(img: &DynamicImage) -> Result<Bytes, String> {
    let mut out = Vec::new();
    let rgb = img.to_rgb8();
    JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&rgb)
        .map_err(|e| e.to_string())?;
    Ok(Bytes::from(out))
}

/// Makes the copies for one original held in a local file. `strip_metadata`: also make a
/// copy of the original without EXIF/XMP. A JPEG is decoded only as large as the largest
/// copy it still needs, a half, a quarter or an eighth of its size (the DCT scaled).
pub fn make(path: &Path, ty: FileType, strip_metadata: bool) -> Result<Derived, String> {
    let mut d = Derived::default();
    let mut original = None;
    let mut without_metadata = None;
    if strip_metadata || ty == FileType::Jpeg {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        without_metadata = strip::strip(ty, &bytes).map(Bytes::from);
        original = Some(bytes);
    }
    if strip_metadata {
        d.stripped = without_metadata.clone();
    }
    let Some(fmt) = format(ty) else {
        return Ok(d);
    };
    // The header, for the size and the orientation; nothing is decoded yet.
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut r = ImageReader::with_format(BufReader::new(f), fmt);
    r.limits(limits());
    let mut decoder = r.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!("{w}×{h} pixels: over the limit, not decoded"));
    }
    let orientation = decoder.orientation().ok();
    let upright = matches!(orientation, None | Some(Orientation::NoTransforms));
    let side = w.max(h);
    // An upright JPEG within a size is its own copy of that size, without metadata: no
    // encoding (the encoder is most of the cost), and never scaled up. Without metadata to
    // drop, the copy is the original itself.
    let as_is = without_metadata.filter(|_| upright && ty == FileType::Jpeg);
    let (medium_as_is, thumb_as_is) = (
        as_is.is_some() && side <= MEDIUM_PX,
        as_is.is_some() && side <= THUMB_PX,
    );
    let bare = as_is
        .as_deref()
        .is_some_and(|b| Some(b) == original.as_deref());
    d.medium_is_original = bare && medium_as_is;
    d.thumb_is_original = bare && thumb_as_is;
    // The largest picture a copy still to be encoded needs; the hash alone needs little.
    let need = if !medium_as_is {
        side.min(MEDIUM_PX)
    } else if !thumb_as_is {
        THUMB_PX
    } else {
        HASH_PX
    };
    let scaled = match (&original, ty) {
        (Some(bytes), FileType::Jpeg) => decode_jpeg_scaled(bytes, need),
        _ => None,
    };
    let mut img = match scaled {
        Some(img) => img,
        None => DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?,
    };
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let medium = if img.width().max(img.height()) <= MEDIUM_PX {
        img
    } else {
        img.resize(MEDIUM_PX, MEDIUM_PX, image::imageops::FilterType::Triangle)
    };
    if !d.medium_is_original {
        d.medium = match &as_is {
            Some(b) if medium_as_is => Some(b.clone()),
            _ => Some(jpeg(&medium)?),
        };
    }
    let thumb = if medium.width().max(medium.height()) <= THUMB_PX {
        medium
    } else {
        medium.thumbnail(THUMB_PX, THUMB_PX)
    };
    d.dhash = Some(crate::photos::phash::dhash(&thumb));
    if !d.thumb_is_original {
        d.thumb = match as_is {
            Some(b) if thumb_as_is => Some(b),
            _ => Some(jpeg(&thumb)?),
        };
    }
    Ok(d)
}

/// Decodes a JPEG at the smallest of 1/8, 1/4, 1/2 or its full size whose long side is at
/// least `need` pixels (or its own size, if smaller). `None` for what the scaling decoder
/// does not take (CMYK, 16-bit, a damaged file): the caller decodes it whole.
fn decode_jpeg_scaled(bytes: &[u8], need: u32) -> Option<DynamicImage> {
    let want = u16::try_from(need).unwrap_or(u16::MAX);
    // A decoder's panic on a hostile file must not take the copy thread with it.
    std::panic::catch_unwind(|| {
        let mut d = jpeg_decoder::Decoder::new(Cursor::new(bytes));
        d.set_max_decoding_buffer_size(usize::try_from(MAX_ALLOC).unwrap_or(usize::MAX));
        d.scale(want, want).ok()?;
        let pixels = d.decode().ok()?;
        let info = d.info()?;
        let (w, h) = (u32::from(info.width), u32::from(info.height));
        match info.pixel_format {
            jpeg_decoder::PixelFormat::L8 => {
                image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
            }
            jpeg_decoder::PixelFormat::RGB24 => {
                image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
            }
            _ => None,
        }
    })
    .ok()
    .flatten()
}

/// Whether bytes in memory decode as an image (for tests and checks).
pub fn decodes(bytes: &[u8]) -> bool {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.decode().ok())
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photos::evidence_rules::{hash_distance, same_picture};

    /// A JPEG of smooth shapes, `w` × `h`, with a comment segment if `comment`.
    fn picture(w: u32, h: u32, seed: u32, comment: bool) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let s = seed as f32;
            let v = |k: f32| {
                ((fx * k + s).sin() * (fy * (k + 1.0) + s * 0.7).cos() * 120.0 + 128.0) as u8
            };
            image::Rgb([v(3.0), v(5.0), v(7.0)])
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap_or_default();
        if comment {
            let text = b"taken on the visit";
            let len = (text.len() + 2) as u16;
            let mut with = out[..2].to_vec();
            with.extend_from_slice(&[0xFF, 0xFE]);
            with.extend_from_slice(&len.to_be_bytes());
            with.extend_from_slice(text);
            with.extend_from_slice(&out[2..]);
            out = with;
        }
        out
    }

    fn made(bytes: &[u8]) -> Derived {
        let dir = std::env::temp_dir().join(format!("derive-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let path = dir.join("p.jpg");
        std::fs::write(&path, bytes).unwrap_or_default();
        let d = make(&path, FileType::Jpeg, false).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        d
    }

    fn side(bytes: &Bytes) -> u32 {
        image::load_from_memory(bytes).map_or(0, |i| i.width().max(i.height()))
    }

    #[test]
    fn a_picture_without_metadata_is_its_own_copy_of_each_size_it_fits() {
        let small = made(&picture(300, 200, 1, false));
        assert!(small.thumb_is_original && small.medium_is_original);
        assert!(small.thumb.is_none() && small.medium.is_none());
        assert!(small.dhash.is_some());

        let mid = made(&picture(1200, 900, 2, false));
        assert!(mid.medium_is_original && !mid.thumb_is_original);
        assert!(mid.medium.is_none());
        assert_eq!(mid.thumb.as_ref().map(side), Some(THUMB_PX));

        let large = made(&picture(3000, 2000, 3, false));
        assert!(!large.medium_is_original && !large.thumb_is_original);
        assert_eq!(large.medium.as_ref().map(side), Some(MEDIUM_PX));
        assert_eq!(large.thumb.as_ref().map(side), Some(THUMB_PX));
    }

    #[test]
    fn a_picture_with_metadata_gets_copies_without_it() {
        let bytes = picture(300, 200, 4, true);
        let d = made(&bytes);
        assert!(!d.thumb_is_original && !d.medium_is_original);
        let thumb = d.thumb.unwrap_or_default();
        assert!(thumb.len() < bytes.len(), "the comment is dropped");
        assert_eq!(d.medium.unwrap_or_default(), thumb);
    }

    #[test]
    fn a_scaled_decode_hashes_as_the_whole_picture_does() {
        for seed in 1..12 {
            let bytes = picture(640 + seed * 40, 480, seed, false);
            let whole = image::load_from_memory(&bytes).unwrap_or_default();
            let full = crate::photos::phash::dhash(&whole.thumbnail(THUMB_PX, THUMB_PX));
            for need in [HASH_PX, THUMB_PX] {
                let scaled = decode_jpeg_scaled(&bytes, need).unwrap_or_default();
                let long = scaled.width().max(scaled.height());
                assert!(
                    long >= need && long < whole.width(),
                    "seed {seed}: {long} px"
                );
                let h = crate::photos::phash::dhash(&scaled);
                assert!(
                    same_picture(full, h),
                    "seed {seed}, {need} px: {} bits apart",
                    hash_distance(full, h)
                );
            }
        }
    }

    #[test]
    fn what_the_scaling_decoder_cannot_read_is_left_to_the_whole_decoder() {
        assert!(decode_jpeg_scaled(b"not a jpeg", 32).is_none());
        let bytes = picture(64, 64, 5, false);
        assert!(decode_jpeg_scaled(&bytes[..bytes.len() / 3], 32).is_none());
    }
}
