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
    pub thumb: Option<Bytes>,
    pub medium: Option<Bytes>,
    pub stripped: Option<Bytes>,
    /// Perceptual hash of the upright picture.
    pub dhash: Option<i64>,
}

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
/// copy of the original without EXIF/XMP.
pub fn make(path: &Path, ty: FileType, strip_metadata: bool) -> Result<Derived, String> {
    let mut d = Derived::default();
    let mut without_metadata = None;
    if strip_metadata || ty == FileType::Jpeg {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        without_metadata = strip::strip(ty, &bytes).map(Bytes::from);
    }
    if strip_metadata {
        d.stripped = without_metadata.clone();
    }
    let Some(fmt) = format(ty) else {
        return Ok(d);
    };
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut r = ImageReader::with_format(BufReader::new(f), fmt);
    r.limits(limits());
    let mut decoder = r.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(format!("{w}×{h} pixels: over the limit, not decoded"));
    }
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    let upright = matches!(orientation, None | Some(Orientation::NoTransforms));
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let side = img.width().max(img.height());
    let medium = if side <= MEDIUM_PX {
        img
    } else {
        img.resize(MEDIUM_PX, MEDIUM_PX, image::imageops::FilterType::Triangle)
    };
    // An upright JPEG within a size is its own copy of that size, without metadata: no
    // encoding (the encoder is most of the cost), and never scaled up.
    let as_is = without_metadata.filter(|_| upright && ty == FileType::Jpeg);
    d.medium = match &as_is {
        Some(b) if side <= MEDIUM_PX => Some(b.clone()),
        _ => Some(jpeg(&medium)?),
    };
    let thumb = if side <= THUMB_PX {
        medium
    } else {
        medium.thumbnail(THUMB_PX, THUMB_PX)
    };
    d.dhash = Some(crate::photos::phash::dhash(&thumb));
    d.thumb = match as_is {
        Some(b) if side <= THUMB_PX => Some(b),
        _ => Some(jpeg(&thumb)?),
    };
    Ok(d)
}

/// Whether bytes in memory decode as an image (for tests and checks).
pub fn decodes(bytes: &[u8]) -> bool {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.decode().ok())
        .is_some()
}
