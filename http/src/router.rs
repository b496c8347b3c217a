//! Which S3 operation a request is: parse first, then one `match` dispatches.

use crate::request::Request;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListBuckets,
    CreateBucket,
    HeadBucket,
    DeleteBucket,
    GetBucketLocation,
    GetBucketCors,
    PutBucketCors,
    DeleteBucketCors,
    /// OPTIONS on a bucket or object: a browser's CORS preflight (unsigned).
    CorsPreflight,
    ListObjects,
    ListObjectsV2,
    ListMultipartUploads,
    DeleteObjects,
    /// A browser form upload to the bucket.
    PostObject,
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    DeleteObject,
    GetObjectTagging,
    PutObjectTagging,
    DeleteObjectTagging,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    /// A real S3 operation we do not offer (yet): answered NotImplemented.
    Unsupported(&'static str),
}

/// Bucket sub-resources of S3 that we do not implement.
const BUCKET_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "tagging",
    "versioning",
    "versions",
    "website",
];
const OBJECT_SUBRESOURCES: &[&str] = &["acl", "attributes", "legal-hold", "restore", "retention", "select", "torrent"];

impl Endpoint {
    pub fn from_request(req: &Request) -> Endpoint {
        let is_form = |req: &Request| {
            req.header("content-type")
                .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
        };
        let method = req.method();
        match (&req.bucket, &req.key) {
            (None, _) => match method {
                "GET" => Endpoint::ListBuckets,
                _ => Endpoint::Unsupported("this operation on the service"),
            },
            (Some(_), _) if method == "OPTIONS" => Endpoint::CorsPreflight,
            (Some(_), None) => {
                if req.has_param("cors") {
                    return match method {
                        "GET" => Endpoint::GetBucketCors,
                        "PUT" => Endpoint::PutBucketCors,
                        "DELETE" => Endpoint::DeleteBucketCors,
                        _ => Endpoint::Unsupported("this CORS operation"),
                    };
                }
                if let Some(sub) = BUCKET_SUBRESOURCES.iter().find(|s| req.has_param(s)) {
                    return Endpoint::Unsupported(sub);
                }
                match method {
                    "PUT" => Endpoint::CreateBucket,
                    "HEAD" => Endpoint::HeadBucket,
                    "DELETE" => Endpoint::DeleteBucket,
                    "POST" if req.has_param("delete") => Endpoint::DeleteObjects,
                    "POST" if is_form(req) => Endpoint::PostObject,
                    "GET" if req.has_param("location") => Endpoint::GetBucketLocation,
                    "GET" if req.has_param("uploads") => Endpoint::ListMultipartUploads,
                    "GET" if req.param("list-type") == Some("2") => Endpoint::ListObjectsV2,
                    "GET" => Endpoint::ListObjects,
                    _ => Endpoint::Unsupported("this bucket operation"),
                }
            }
            (Some(_), Some(_)) => {
                if let Some(sub) = OBJECT_SUBRESOURCES.iter().find(|s| req.has_param(s)) {
                    return Endpoint::Unsupported(sub);
                }
                let upload = req.has_param("uploadId");
                if req.has_param("tagging") {
                    return match method {
                        "GET" => Endpoint::GetObjectTagging,
                        "PUT" => Endpoint::PutObjectTagging,
                        "DELETE" => Endpoint::DeleteObjectTagging,
                        _ => Endpoint::Unsupported("this tagging operation"),
                    };
                }
                match method {
                    "PUT" if upload && req.header("x-amz-copy-source").is_some() => Endpoint::UploadPartCopy,
                    "PUT" if upload => Endpoint::UploadPart,
                    "PUT" if req.header("x-amz-copy-source").is_some() => Endpoint::CopyObject,
                    "PUT" => Endpoint::PutObject,
                    "GET" if upload => Endpoint::ListParts,
                    "GET" => Endpoint::GetObject,
                    "HEAD" => Endpoint::HeadObject,
                    "DELETE" if upload => Endpoint::AbortMultipartUpload,
                    "DELETE" => Endpoint::DeleteObject,
                    "POST" if req.has_param("uploads") => Endpoint::CreateMultipartUpload,
                    "POST" if upload => Endpoint::CompleteMultipartUpload,
                    _ => Endpoint::Unsupported("this object operation"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Head;

    fn route(method: &str, target: &str, headers: &[(&str, &str)]) -> Endpoint {
        let head = Head {
            method: method.into(),
            target: target.into(),
            minor_version: 1,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        };
        Endpoint::from_request(&Request::parse(head).expect("parses"))
    }

    /// Request lines from AWS's S3 API reference examples.
    #[test]
    fn aws_doc_examples() {
        assert_eq!(route("GET", "/", &[]), Endpoint::ListBuckets);
        assert_eq!(route("PUT", "/colorpictures", &[]), Endpoint::CreateBucket);
        assert_eq!(
            route("GET", "/examplebucket?list-type=2&max-keys=3&prefix=E&start-after=ExampleGuide.pdf", &[]),
            Endpoint::ListObjectsV2
        );
        assert_eq!(route("GET", "/quotes?prefix=N&marker=Ned&max-keys=40", &[]), Endpoint::ListObjects);
        assert_eq!(route("GET", "/examplebucket?location", &[]), Endpoint::GetBucketLocation);
        assert_eq!(route("GET", "/examplebucket?cors", &[]), Endpoint::GetBucketCors);
        assert_eq!(route("PUT", "/examplebucket?cors", &[]), Endpoint::PutBucketCors);
        assert_eq!(route("DELETE", "/examplebucket?cors", &[]), Endpoint::DeleteBucketCors);
        assert_eq!(route("OPTIONS", "/examplebucket/exampleobject", &[]), Endpoint::CorsPreflight);
        assert_eq!(route("OPTIONS", "/examplebucket", &[]), Endpoint::CorsPreflight);
        assert_eq!(route("GET", "/example-bucket?uploads&max-uploads=3", &[]), Endpoint::ListMultipartUploads);
        assert_eq!(route("POST", "/bucketname?delete", &[]), Endpoint::DeleteObjects);
        let form = [("content-type", "multipart/form-data; boundary=x")];
        assert_eq!(route("POST", "/bucketname", &form), Endpoint::PostObject);
        assert!(matches!(route("POST", "/bucketname", &[]), Endpoint::Unsupported(_)), "a POST that is no form");
        assert_eq!(route("POST", "/example-bucket/example-object?uploads", &[]), Endpoint::CreateMultipartUpload);
        assert_eq!(route("PUT", "/b/my-movie.m2ts?partNumber=1&uploadId=VXBsb2FkIElE", &[]), Endpoint::UploadPart);
        assert_eq!(
            route("POST", "/b/example-object?uploadId=AAAsb2FkIElEIGZvciBlbHZpbmcncyWeeS1tb3ZpZS5tMnRzIRRwbG9hZA", &[]),
            Endpoint::CompleteMultipartUpload
        );
        assert_eq!(route("DELETE", "/b/example-object?uploadId=VXBsb2FkIElE", &[]), Endpoint::AbortMultipartUpload);
        assert_eq!(route("GET", "/b/example-object?uploadId=XXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzEEEwbG9hZA&max-parts=2&part-number-marker=1", &[]), Endpoint::ListParts);
        assert_eq!(
            route("PUT", "/b/my-second-image.jpg", &[("x-amz-copy-source", "/bucket/my-image.jpg")]),
            Endpoint::CopyObject
        );
        assert_eq!(route("GET", "/b/my-image.jpg", &[]), Endpoint::GetObject);
        assert_eq!(route("HEAD", "/b/my-image.jpg", &[]), Endpoint::HeadObject);
        assert_eq!(route("DELETE", "/b/my-second-image.jpg", &[]), Endpoint::DeleteObject);
        assert_eq!(route("PUT", "/b/my-image.jpg", &[]), Endpoint::PutObject);
        assert_eq!(route("GET", "/examplebucket/example-object?tagging", &[]), Endpoint::GetObjectTagging);
        assert_eq!(route("PUT", "/examplebucket/object-key?tagging", &[]), Endpoint::PutObjectTagging);
        assert_eq!(route("DELETE", "/examplebucket/example-object?tagging", &[]), Endpoint::DeleteObjectTagging);
        assert_eq!(
            route(
                "PUT",
                "/b/newobject?partNumber=2&uploadId=VCVsb2FkIElEIGZvciBlbZZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZR",
                &[
                    ("x-amz-copy-source", "/source-bucket/sourceobject"),
                    ("x-amz-copy-source-range", "bytes=500-6291456")
                ]
            ),
            Endpoint::UploadPartCopy
        );
    }

    #[test]
    fn unsupported_subresources_are_not_objects() {
        assert_eq!(route("GET", "/b/k?torrent", &[]), Endpoint::Unsupported("torrent"));
        assert_eq!(route("PUT", "/b?lifecycle", &[]), Endpoint::Unsupported("lifecycle"));
        assert_eq!(route("PATCH", "/b/k", &[]), Endpoint::Unsupported("this object operation"));
    }
}
