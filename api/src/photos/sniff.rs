//! What a file is, judged from its first bytes, never from its name or a declared type.

use crate::photos::Kind;

/// A file type bangfu accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Jpeg,
    Png,
    WebP,
    Heif,
    Pdf,
}

impl FileType {
    pub fn media_type(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::WebP => "image/webp",
            FileType::Heif => "image/heic",
            FileType::Pdf => "application/pdf",
        }
    }

    pub fn from_media_type(s: &str) -> Option<FileType> {
        [
            FileType::Jpeg,
            FileType::Png,
            FileType::WebP,
            FileType::Heif,
            FileType::Pdf,
        ]
        .into_iter()
        .find(|t| t.media_type() == s)
    }

    pub fn kind(self) -> Kind {
        match self {
            FileType::Pdf => Kind::Document,
            _ => Kind::Photo,
        }
    }

    /// Whether bangfu can decode it to make resized copies.
    pub fn decodable(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png | FileType::WebP)
    }
}

/// How many leading bytes [`sniff`] needs at most.
pub const HEAD_LEN: usize = 64;

/// HEIF brands of still images (HEIC and the generic image brands). AVIF is not admitted.
const HEIF_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

/// The type of a file from its first bytes, or `None` for anything not admitted.
pub fn sniff(head: &[u8]) -> Option<FileType> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(FileType::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(FileType::Png);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(FileType::WebP);
    }
    if head.starts_with(b"%PDF-") {
        return Some(FileType::Pdf);
    }
    // ISO base media: [size:4]["ftyp"][major brand:4][minor:4][compatible brands…]
    if head.len() >= 16 && &head[4..8] == b"ftyp" {
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let end = size.clamp(16, head.len());
        let major = &head[8..12];
        let compatible = head[16..end].chunks_exact(4);
        // AVIF (AV1 pictures) may carry the generic image brands too: not admitted.
        if std::iter::once(major)
            .chain(compatible.clone())
            .any(|b| b == b"avif" || b == b"avis")
        {
            return None;
        }
        if std::iter::once(major)
            .chain(compatible)
            .any(|b| HEIF_BRANDS.iter().any(|h| h.as_slice() == b))
        {
            return Some(FileType::Heif);
        }
    }
    None
}

/// How much of a PDF's start and end [`whole`] looks at.
const PDF_EDGE: u64 = 1024;

/// Whether the file, already sniffed as `ty`, is that through and through where a file
/// that is something else too (a page a browser would run) is cheap to spot:
/// - HEIF: its top-level boxes must tile the file exactly (a page appended after them
///   breaks the tiling);
/// - PDF: it must end with `%%EOF` and hold no HTML in its first kilobyte.
///
/// JPEG, PNG and WebP are decoded instead (their header and size are read by the image
/// decoder), and every file is served with its sniffed type and `nosniff`.
pub fn whole(
    file: &mut (impl std::io::Read + std::io::Seek),
    len: u64,
    ty: FileType,
) -> std::io::Result<bool> {
    use std::io::SeekFrom;
    match ty {
        FileType::Heif => {
            let mut at = 0u64;
            let mut head = [0u8; 16];
            while at < len {
                if len - at < 8 {
                    return Ok(false);
                }
                file.seek(SeekFrom::Start(at))?;
                let n = if len - at >= 16 { 16 } else { 8 };
                file.read_exact(&mut head[..n])?;
                if !head[4..8]
                    .iter()
                    .all(|b| b.is_ascii_graphic() || *b == b' ')
                {
                    return Ok(false);
                }
                let size = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
                    0 => len - at,
                    1 if n == 16 => u64::from_be_bytes([
                        head[8], head[9], head[10], head[11], head[12], head[13], head[14],
                        head[15],
                    ]),
                    1 => return Ok(false),
                    s => u64::from(s),
                };
                if size < 8 || size > len - at {
                    return Ok(false);
                }
                at += size;
            }
            Ok(true)
        }
        FileType::Pdf => {
            let edge = PDF_EDGE.min(len);
            let mut start = vec![0u8; edge as usize];
            file.seek(SeekFrom::Start(0))?;
            file.read_exact(&mut start)?;
            let mut end = vec![0u8; edge as usize];
            file.seek(SeekFrom::Start(len - edge))?;
            file.read_exact(&mut end)?;
            let lower = start.to_ascii_lowercase();
            let html = [
                &b"<html"[..],
                b"<script",
                b"<!doctype",
                b"<body",
                b"<iframe",
            ]
            .iter()
            .any(|tag| lower.windows(tag.len()).any(|w| w == *tag));
            let trimmed = end.trim_ascii_end();
            Ok(!html && trimmed.ends_with(b"%%EOF"))
        }
        FileType::Jpeg | FileType::Png | FileType::WebP => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), Some(FileType::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileType::Png));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(FileType::WebP));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some(FileType::Heif)
        );
        assert_eq!(
            sniff(b"\0\0\0\x1cftypmif1\0\0\0\0mif1heicmiaf"),
            Some(FileType::Heif)
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypavif\0\0\0\0mif1avif"), None);
        // AVIF under the generic image brand is AVIF still.
        assert_eq!(sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1avif"), None);
        assert_eq!(sniff(b"\0\0\0\x18ftypmsf1\0\0\0\0msf1avis"), None);
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2"), None);
        assert_eq!(sniff(b"hello, this is text named photo.jpg"), None);
        assert_eq!(sniff(b""), None);
    }

    fn is_whole(bytes: &[u8], ty: FileType) -> bool {
        whole(&mut std::io::Cursor::new(bytes), bytes.len() as u64, ty).unwrap_or(false)
    }

    #[test]
    fn a_file_that_is_also_a_page_is_spotted() {
        let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
        heic.extend_from_slice(b"\0\0\0\x10mdat12345678");
        assert!(is_whole(&heic, FileType::Heif));
        let mut polyglot = heic.clone();
        polyglot.extend_from_slice(b"<!DOCTYPE html><script>alert(1)</script>");
        assert!(!is_whole(&polyglot, FileType::Heif));
        // A box running to the end of the file (size 0) tiles it.
        let mut open_ended = heic.clone();
        open_ended.extend_from_slice(b"\0\0\0\0mdat and the rest");
        assert!(is_whole(&open_ended, FileType::Heif));

        let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
        assert!(is_whole(&pdf, FileType::Pdf));
        let page = b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n";
        assert!(!is_whole(page, FileType::Pdf));
        assert!(!is_whole(b"%PDF-1.4\n<html>no end", FileType::Pdf));
    }
}
