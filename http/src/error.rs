//! S3 errors: the one place that knows which S3 code and HTTP status each
//! failure becomes.

use stratum_engine::EngineError;

#[derive(Debug, Clone)]
pub struct S3Error {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
    /// Extra elements of the error document (e.g. ArgumentName).
    pub extra: Vec<(&'static str, String)>,
}

impl S3Error {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self { code, status, message: message.into(), extra: Vec::new() }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new("InvalidArgument", 400, message)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new("InvalidRequest", 400, message)
    }

    pub fn not_implemented(what: &str) -> Self {
        Self::new("NotImplemented", 501, format!("{what} is not implemented"))
    }

    pub fn malformed_xml() -> Self {
        Self::new(
            "MalformedXML",
            400,
            "The XML you provided was not well-formed or did not validate against our published schema.",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalError", 500, message)
    }

    pub fn no_such_key() -> Self {
        Self::new("NoSuchKey", 404, "The specified key does not exist.")
    }

    pub fn no_such_bucket() -> Self {
        Self::new("NoSuchBucket", 404, "The specified bucket does not exist.")
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDenied", 403, message)
    }
}

impl From<EngineError> for S3Error {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NoSuchBucket => S3Error::no_such_bucket(),
            EngineError::NoSuchKey => S3Error::no_such_key(),
            EngineError::BucketAlreadyOwnedByYou => S3Error::new(
                "BucketAlreadyOwnedByYou",
                409,
                "Your previous request to create the named bucket succeeded and you already own it.",
            ),
            EngineError::BucketNotEmpty => {
                S3Error::new("BucketNotEmpty", 409, "The bucket you tried to delete is not empty.")
            }
            EngineError::NoSuchUpload => S3Error::new(
                "NoSuchUpload",
                404,
                "The specified multipart upload does not exist. The upload ID might not be valid, or the multipart upload might have been aborted or completed.",
            ),
            EngineError::InvalidPart(n) => S3Error::new(
                "InvalidPart",
                400,
                "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
            )
            .with("PartNumber", n.to_string()),
            EngineError::InvalidPartOrder => S3Error::new(
                "InvalidPartOrder",
                400,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
            ),
            EngineError::EntityTooSmall(n) => S3Error::new(
                "EntityTooSmall",
                400,
                "Your proposed upload is smaller than the minimum allowed object size.",
            )
            .with("PartNumber", n.to_string()),
            EngineError::Conflict => S3Error::new(
                "OperationAborted",
                409,
                "A conflicting conditional operation is currently in progress against this resource. Please try again.",
            ),
            EngineError::InvalidDisk(why) => S3Error::invalid_argument(why),
            EngineError::InsufficientDisks => {
                S3Error::new("SlowDown", 503, "Not enough healthy disks to store the object safely; please retry.")
            }
            EngineError::CoreUnavailable(_) => {
                S3Error::new("ServiceUnavailable", 503, "The server is shutting down or overloaded.")
            }
            EngineError::Io(e) if is_no_space(&e) => S3Error::new(
                "InsufficientStorage",
                507,
                "The server does not have enough space to store the object.",
            ),
            e @ (EngineError::Io(_)
            | EngineError::Corrupt { .. }
            | EngineError::Meta(_)
            | EngineError::DurabilityUnknown(_)) => {
                tracing::error!(error = %e, "storage failure");
                S3Error::internal("We encountered an internal error. Please try again.")
            }
        }
    }
}

impl From<crate::xml::XmlError> for S3Error {
    fn from(e: crate::xml::XmlError) -> Self {
        use crate::xml::XmlError;
        match e {
            XmlError::Malformed(_) | XmlError::TooLarge => S3Error::malformed_xml(),
            XmlError::InvalidTag(m) => S3Error::new("InvalidTag", 400, m),
            XmlError::BadRequest(m) => S3Error::new("BadRequest", 400, m),
            XmlError::InvalidRequest(m) => S3Error::invalid_request(m),
        }
    }
}

fn is_no_space(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc_enospc())
}

const fn libc_enospc() -> i32 {
    28
}
