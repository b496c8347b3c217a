//! The composite checksum of a multipart object, as S3 computes it: the
//! checksum of the concatenated raw part checksums, then `-N`.

use base64::Engine as _;
use sha2::Digest as _;

use crate::record::PartRecord;

/// `None` when the algorithm has no composite form (CRC64NVME is full-object
/// only) or a part lacks a checksum: then the object has no checksum.
pub(crate) fn composite_checksum(algorithm: &str, parts: &[PartRecord]) -> Option<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw = Vec::new();
    for part in parts {
        raw.extend(b64.decode(part.checksum.as_deref()?).ok()?);
    }
    let digest = match algorithm {
        "CRC32" => crc32fast::hash(&raw).to_be_bytes().to_vec(),
        "CRC32C" => crc32c::crc32c(&raw).to_be_bytes().to_vec(),
        "SHA1" => sha1::Sha1::digest(&raw).to_vec(),
        "SHA256" => sha2::Sha256::digest(&raw).to_vec(),
        _ => return None,
    };
    Some(format!("{}-{}", b64.encode(digest), parts.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SegmentBody;

    fn part(n: u32, checksum: Option<&str>) -> PartRecord {
        PartRecord {
            part_number: n,
            etag: String::new(),
            size: 0,
            modified_ms: 0,
            body: SegmentBody::Inline { bytes: vec![], crc32c: 0 },
            checksum: checksum.map(str::to_owned),
        }
    }

    #[test]
    fn crc32_of_part_crcs() {
        // crc32("a") = e8b7be43, crc32("b") = 71beeff9; crc32 of those 8 bytes = 0x4f37c9d3
        let parts = [part(1, Some("6Le+Qw==")), part(2, Some("cb7v+Q=="))];
        let raw = [0xe8, 0xb7, 0xbe, 0x43, 0x71, 0xbe, 0xef, 0xf9];
        let want = base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(&raw).to_be_bytes());
        assert_eq!(composite_checksum("CRC32", &parts), Some(format!("{want}-2")));
    }

    #[test]
    fn missing_part_checksum_or_full_object_algorithm_gives_none() {
        assert_eq!(composite_checksum("CRC32", &[part(1, Some("6Le+Qw==")), part(2, None)]), None);
        assert_eq!(composite_checksum("CRC64NVME", &[part(1, Some("AAAAAAAAAAA="))]), None);
        assert_eq!(composite_checksum("CRC32", &[part(1, Some("not base64!"))]), None);
    }
}
