//! Copies without EXIF and XMP metadata (so without GPS) for JPEG, PNG and WebP, made by
//! dropping the metadata segments and chunks; the image data is copied byte for byte.
//! HEIF keeps its metadata inside the container's item boxes and has no stripper here.

use crate::photos::sniff::FileType;

/// The file without its metadata, or `None` if the format is not handled or the file is
/// not well formed.
pub fn strip(ty: FileType, bytes: &[u8]) -> Option<Vec<u8>> {
    match ty {
        FileType::Jpeg => jpeg(bytes),
        FileType::Png => png(bytes),
        FileType::WebP => webp(bytes),
        FileType::Heif | FileType::Pdf => None,
    }
}

/// Drops APP1 (EXIF, XMP), APP13 (IPTC) and COM (comments) segments before the scan data,
/// and everything after the end of the picture: phones append further pictures there
/// (multi-picture depth and gain maps), each with its own EXIF and location.
fn jpeg(b: &[u8]) -> Option<Vec<u8>> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    loop {
        if i + 4 > b.len() || b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        // Start of scan: image data up to the end marker, copied as is. Inside it a 0xFF
        // byte is always followed by 0x00 or a restart marker, so the first FF D9 is the end.
        if marker == 0xDA {
            let end = b[i..]
                .windows(2)
                .position(|w| w == [0xFF, 0xD9])
                .map_or(b.len(), |at| i + at + 2);
            out.extend_from_slice(&b[i..end]);
            return Some(out);
        }
        // Fill bytes and markers without a length.
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            out.extend_from_slice(&b[i..i + 2]);
            i += 2;
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        let end = i + 2 + len;
        if len < 2 || end > b.len() {
            return None;
        }
        if !matches!(marker, 0xE1 | 0xED | 0xFE) {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
}

/// Drops `eXIf`, `tEXt`, `zTXt`, `iTXt` (EXIF, and XMP kept as text) and `tIME` chunks.
fn png(b: &[u8]) -> Option<Vec<u8>> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !b.starts_with(SIG) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(SIG);
    let mut i = SIG.len();
    while i < b.len() {
        if i + 12 > b.len() {
            return None;
        }
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        let ty = &b[i + 4..i + 8];
        if !matches!(ty, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    Some(out)
}

/// Drops `EXIF` and `XMP ` chunks and clears their flags in `VP8X`.
fn webp(b: &[u8]) -> Option<Vec<u8>> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..12]);
    let mut i = 12;
    while i + 8 <= b.len() {
        let len = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        let padded = len + (len & 1);
        let end = (i + 8).checked_add(padded)?.min(b.len());
        if i + 8 + len > b.len() {
            return None;
        }
        let ty = &b[i..i + 4];
        if ty == b"VP8X" && len >= 1 {
            let at = out.len() + 8;
            out.extend_from_slice(&b[i..end]);
            // Flags: bit 3 EXIF, bit 2 XMP.
            out[at] &= !0b0000_1100;
        } else if ty != b"EXIF" && ty != b"XMP " {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    let size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_loses_app1_and_keeps_the_rest() {
        let mut f = vec![0xFF, 0xD8];
        f.extend_from_slice(&[0xFF, 0xE0, 0, 4, 1, 2]); // APP0 kept
        f.extend_from_slice(&[0xFF, 0xE1, 0, 6, b'E', b'x', b'i', b'f']); // APP1 dropped
        f.extend_from_slice(&[0xFF, 0xDA, 0, 2, 9, 9, 0xFF, 0xD9]); // scan, kept
        let s = jpeg(&f).unwrap_or_default();
        assert_eq!(
            s,
            vec![
                0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xDA, 0, 2, 9, 9, 0xFF, 0xD9
            ]
        );
        assert!(jpeg(b"not a jpeg").is_none());
    }

    #[test]
    fn jpeg_loses_comments_and_what_follows_its_end() {
        let mut f = vec![0xFF, 0xD8];
        f.extend_from_slice(&[0xFF, 0xFE, 0, 6, b'G', b'P', b'S', b'!']); // COM dropped
        f.extend_from_slice(&[0xFF, 0xDA, 0, 2, 9, 0xFF, 0x00, 9, 0xFF, 0xD9]); // scan, kept
        // A second picture appended after the end (multi-picture depth or gain maps), with
        // its own EXIF and GPS: dropped.
        let trailer = [
            0xFF, 0xD8, 0xFF, 0xE1, 0, 6, b'E', b'x', b'i', b'f', 0xFF, 0xD9,
        ];
        f.extend_from_slice(&trailer);
        let s = jpeg(&f).unwrap_or_default();
        assert_eq!(
            s,
            vec![0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 9, 0xFF, 0x00, 9, 0xFF, 0xD9]
        );
    }

    #[test]
    fn png_loses_exif_chunks() {
        let chunk = |ty: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(ty);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut f = b"\x89PNG\r\n\x1a\n".to_vec();
        f.extend(chunk(b"IHDR", &[1; 13]));
        f.extend(chunk(b"eXIf", b"MM\0*"));
        f.extend(chunk(b"tIME", &[7; 7]));
        f.extend(chunk(b"IEND", b""));
        let mut want = b"\x89PNG\r\n\x1a\n".to_vec();
        want.extend(chunk(b"IHDR", &[1; 13]));
        want.extend(chunk(b"IEND", b""));
        assert_eq!(png(&f), Some(want));
    }

    #[test]
    fn webp_loses_exif_and_its_flag() {
        let chunk = |ty: &[u8], data: &[u8]| {
            let mut c = ty.to_vec();
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(data);
            if data.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let body = [
            chunk(b"VP8X", &[0b0000_1000, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            chunk(b"VP8 ", &[7; 5]),
            chunk(b"EXIF", b"MM\0*x"),
        ]
        .concat();
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        f.extend_from_slice(b"WEBP");
        f.extend(body);
        let s = webp(&f).unwrap_or_default();
        assert!(!s.windows(4).any(|w| w == b"EXIF"));
        assert_eq!(s[20], 0, "EXIF flag cleared");
        assert_eq!(
            u32::from_le_bytes([s[4], s[5], s[6], s[7]]) as usize,
            s.len() - 8
        );
    }
}
