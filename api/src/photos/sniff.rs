//! What a file is, judged from its first bytes, never from its name or a declared type.

use super::Kind;

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
        if major == b"avif" || major == b"avis" {
            return None;
        }
        let compatible = head[16..end].chunks_exact(4);
        if std::iter::once(major)
            .chain(compatible)
            .any(|b| HEIF_BRANDS.iter().any(|h| h.as_slice() == b))
        {
            return Some(FileType::Heif);
        }
    }
    None
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
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2"), None);
        assert_eq!(sniff(b"hello, this is text named photo.jpg"), None);
        assert_eq!(sniff(b""), None);
    }
}
