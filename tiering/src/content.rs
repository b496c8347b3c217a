//! The content class: what kind of object this is, from its content type.

use serde::{Deserialize, Serialize};

use crate::limits::CLASSES;

/// A coarse class of content with its own default tier. One byte, so it can
/// sit in [`crate::AccessStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum ContentClass {
    /// Video segments and files: released, spiked, streamed by range.
    Video,
    /// Images and other media read whole.
    Image,
    /// Backups and archives: written once, rarely read.
    Backup,
    /// Logs: written in bulk, read when something went wrong.
    Log,
    /// Anything else.
    #[default]
    Other,
}

impl ContentClass {
    /// Every class, in the order of [`ContentClass::index`].
    pub const ALL: [ContentClass; CLASSES] =
        [ContentClass::Video, ContentClass::Image, ContentClass::Backup, ContentClass::Log, ContentClass::Other];

    /// Position in [`ContentClass::ALL`], for per-class arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Classifies a `Content-Type` header value, falling back to the key's
    /// extension because many uploaders send `application/octet-stream`.
    pub fn classify(content_type: &str, key: &str) -> ContentClass {
        let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if let Some(class) = Self::from_mime(&mime) {
            return class;
        }
        let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        ext.as_deref().map_or(ContentClass::Other, Self::from_extension)
    }

    fn from_mime(mime: &str) -> Option<ContentClass> {
        let class = match mime {
            m if m.starts_with("video/") => ContentClass::Video,
            "application/vnd.apple.mpegurl" | "application/x-mpegurl" => ContentClass::Video,
            "application/dash+xml" => ContentClass::Video,
            m if m.starts_with("image/") => ContentClass::Image,
            "application/x-tar" | "application/gzip" | "application/zstd" => ContentClass::Backup,
            "application/x-7z-compressed" | "application/zip" => ContentClass::Backup,
            _ => return None,
        };
        Some(class)
    }

    fn from_extension(ext: &str) -> ContentClass {
        match ext {
            "mp4" | "m4s" | "ts" | "mkv" | "webm" | "m3u8" | "mpd" | "mov" => ContentClass::Video,
            "jpg" | "jpeg" | "png" | "gif" | "webp" | "avif" => ContentClass::Image,
            "tar" | "tgz" | "gz" | "zst" | "bak" | "dump" | "7z" | "zip" => ContentClass::Backup,
            "log" => ContentClass::Log,
            _ => ContentClass::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_wins_and_extension_is_the_fallback() {
        assert_eq!(ContentClass::classify("video/mp4", "a.bin"), ContentClass::Video);
        assert_eq!(ContentClass::classify("image/png; charset=x", "a"), ContentClass::Image);
        let octet = "application/octet-stream";
        assert_eq!(ContentClass::classify(octet, "seg-001.m4s"), ContentClass::Video);
        assert_eq!(ContentClass::classify(octet, "db.TAR"), ContentClass::Backup);
        assert_eq!(ContentClass::classify(octet, "app.log"), ContentClass::Log);
        assert_eq!(ContentClass::classify("", "README"), ContentClass::Other);
        for (i, c) in ContentClass::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i);
        }
    }
}
