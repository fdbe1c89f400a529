//! The one table of every error the HTTP API can return (contract §13 and the
//! error rows of §2–§10).
//!
//! Each [`ErrorCode`] variant is one row: HTTP status, the contract's exact text,
//! the extra body fields (`code` on 401/429, `message` on the
//! `VALID.ResourceNotFound` 404) and the extra headers. The API crate turns a
//! code into a response in exactly one place; services in this crate return
//! [`ServiceError`], which separates contract rows from internal failures whose
//! details are logged but never sent.
//!
//! The table is framework-free on purpose: statuses are plain `u16` and headers
//! are name/value string pairs.

use std::fmt;

/// A boxed error source kept for logs only.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One row of the contract's error catalogue. Placeholders are data.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorCode {
    // ---- §2.3 parameters and bodies -------------------------------------------------
    /// `Parameter <name> is required`
    ParamRequired { name: String },
    /// `Parameter <name> must be a string`
    ParamNotString { name: String },
    /// `Parameter <name> is given more than once`
    ParamDuplicate { name: String },
    /// Body of POST accounts / motion-upload with an unsupported Content-Type.
    BodyContentType,
    /// `Request body is not valid JSON`
    BodyNotJson,
    /// `Request body must be a JSON object`
    BodyNotObject,
    /// `Request body is not valid multipart/form-data`
    BodyNotMultipart,
    /// `File parts are not accepted, upload files with POST /assets`
    BodyFilePart,

    // ---- §2.4 account selection ------------------------------------------------------
    /// `Parameter email is required when more than one account is configured`
    EmailRequiredForSeveralAccounts,
    /// `Account <email> not found` (the lowercased email).
    AccountNotFound { email: String },
    /// `Configuration not found. To create configuration use POST /accounts.`
    ConfigurationNotFound,

    // ---- §3 accounts -----------------------------------------------------------------
    /// `Parameter email is not a valid email address`
    EmailInvalid,
    /// `Parameter maxJobs must be an integer between 1 and 50`
    MaxJobsInvalid,
    /// `Account limit reached: at most <n> accounts per user`
    AccountLimit { max: u64 },

    // ---- §5.1 replyUrl and the other motion-upload fields ----------------------------
    /// `replyUrl is too long`
    ReplyUrlTooLong,
    /// `Parameter replyUrl must be an absolute http or https URL without user name or password`
    ReplyUrlInvalid,
    /// `Parameter replyUrl must not point to a loopback, private or link-local address`
    ReplyUrlPrivate,
    /// `Parameter replyRef must be at most 1024 characters`
    ReplyRefTooLong,
    /// `Parameter workName must be at most 100 characters`
    WorkNameTooLong,
    /// The seed's 404 with `"message":"Not Found"` (rows 14 and 16).
    ResourceNotFound,
    /// `Parameter resourceUrl must be the resourceUrl of a video uploaded with POST /assets`
    ResourceUrlNotVideo,
    /// `Parameter coverUrl must be the url of an image or the coverUrl of a video uploaded with POST /assets`
    CoverUrlNotImage,
    /// `Video must be between 2 and 10 seconds long (got <d> s)`; `tenths` is the
    /// duration in tenths of a second, already rounded half up (see [`crate::reason::duration_tenths`]).
    VideoDurationOutOfRange { tenths: u64 },
    /// The maxJobs 429, with `Retry-After: <retry_after_s>` (`admission.retry_after_s`).
    TooManyJobs {
        email: String,
        unfinished: u64,
        max_jobs: u64,
        retry_after_s: u64,
    },

    // ---- §4.1 uploads ----------------------------------------------------------------
    /// `Content-Type <type> is not supported. Valid values: …`; `<type>` is the
    /// lowercased media type without parameters, or `none`.
    UploadContentType { content_type: String },
    /// `Request body is empty`
    UploadEmpty,
    /// `Uploaded file is not a valid <type> file`
    UploadInvalid { content_type: String },
    /// `Image must be between 300 and 8192 pixels on each side (got <w>x<h>)`
    ImageSize { width: u64, height: u64 },
    /// `Video must be at most 10 seconds long (got <d> s)`; `tenths` as above.
    VideoTooLong { tenths: u64 },
    /// `Video must be between 240 and 3840 pixels on each side and at most 8294400 pixels per frame (got <w>x<h>)`
    VideoSize { width: u64, height: u64 },
    /// `Video frame rate must be between 1 and 120 fps (got <f> fps)`
    VideoFrameRate { fps: f64 },
    /// `Video must have at most 1200 frames (got <n>)`
    VideoFrameCount { frames: u64 },
    /// `File too large: <type> uploads are limited to <n> bytes` (with `Connection: close`).
    UploadTooLarge { content_type: String, limit: u64 },

    // ---- §4.2, §4.3 asset lists -----------------------------------------------------
    /// `Invalid parameters` (GET assets/uploaded, every parameter but email).
    InvalidParameters,
    /// `Parameter id (<value>) must be a numeric string or a comma-separated list of up to 10 numeric strings`
    AssetIdsInvalid { value: String },

    // ---- §5.2, §6.5 list parameters --------------------------------------------------
    /// `Parameter mine must be true or false`
    MineInvalid,
    /// `Parameter pageNum must be an integer between 1 and 1000000`
    PageNumInvalid,
    /// `Parameter pageSize must be an integer between 1 and 100`
    PageSizeInvalid,
    /// `Parameter contentType must be one of: video, image, audio`
    ContentTypeParamInvalid,
    /// `Parameter <createdBefore|createdAfter> must be an integer between 0 and 9007199254740991`
    CursorInvalid { name: String },
    /// `Parameters createdBefore and createdAfter cannot be used together`
    CursorsTogether,

    // ---- §6, §7 tasks and scheduler --------------------------------------------------
    /// `Invalid task_id parameter`
    InvalidTaskId,
    /// `Task <id> not found`
    TaskNotFound { id: u64 },
    /// `No works found for task <id>`
    NoWorksFound { id: u64 },
    /// `Unable to locate running task_id <id>`
    RunningTaskNotFound { id: u64 },
    /// `POST /videos/motion-create is not supported by this server`
    MotionCreateUnsupported,

    // ---- transport, auth, routing, files ---------------------------------------------
    /// `Unauthorized` with `code` 401 and `WWW-Authenticate: Bearer`.
    Unauthorized,
    /// `Not found` (unknown routes and `/files`).
    NotFound,
    /// `Method not allowed` with `Allow: <allow>` (e.g. `GET, HEAD`).
    MethodNotAllowed { allow: String },
    /// `Request body timeout` (with `Connection: close`).
    BodyTimeout,
    /// `Request body too large: the limit is <n> bytes` (with `Connection: close`).
    BodyTooLarge { limit: u64 },
    /// `Range not satisfiable` with `Content-Range: bytes */<len>`.
    RangeNotSatisfiable { len: u64 },
    /// `Too many requests` with `code` 429 and `Retry-After`.
    TooManyRequests { retry_after_s: u64 },
    /// `Internal server error`
    Internal,
    /// `Service unavailable, retry later` with `Retry-After: 5`.
    Unavailable,
    /// `Not ready: <component>` (`/readyz`).
    NotReady { component: String },
}

/// Texts that occur more than once, and the 503 retry hint.
const UPLOAD_TYPES: &str = "image/png,image/jpeg,video/mp4,video/quicktime";
const UNAVAILABLE_RETRY_AFTER_S: u64 = 5;

impl ErrorCode {
    /// The HTTP status of this row.
    pub fn status(&self) -> u16 {
        use ErrorCode::*;
        match self {
            Unauthorized => 401,
            NotFound
            | AccountNotFound { .. }
            | ConfigurationNotFound
            | ResourceNotFound
            | TaskNotFound { .. }
            | NoWorksFound { .. }
            | RunningTaskNotFound { .. } => 404,
            MethodNotAllowed { .. } => 405,
            BodyTimeout => 408,
            BodyTooLarge { .. } | UploadTooLarge { .. } => 413,
            RangeNotSatisfiable { .. } => 416,
            TooManyJobs { .. } | TooManyRequests { .. } => 429,
            Internal => 500,
            MotionCreateUnsupported => 501,
            Unavailable | NotReady { .. } => 503,
            _ => 400,
        }
    }

    /// The exact `error` text of the contract, placeholders filled in.
    pub fn text(&self) -> String {
        use ErrorCode::*;
        match self {
            ParamRequired { name } => format!("Parameter {name} is required"),
            ParamNotString { name } => format!("Parameter {name} must be a string"),
            ParamDuplicate { name } => format!("Parameter {name} is given more than once"),
            BodyContentType => "Content-Type must be application/json, multipart/form-data or application/x-www-form-urlencoded".into(),
            BodyNotJson => "Request body is not valid JSON".into(),
            BodyNotObject => "Request body must be a JSON object".into(),
            BodyNotMultipart => "Request body is not valid multipart/form-data".into(),
            BodyFilePart => "File parts are not accepted, upload files with POST /assets".into(),
            EmailRequiredForSeveralAccounts => {
                "Parameter email is required when more than one account is configured".into()
            }
            AccountNotFound { email } => format!("Account {email} not found"),
            ConfigurationNotFound => {
                "Configuration not found. To create configuration use POST /accounts.".into()
            }
            EmailInvalid => "Parameter email is not a valid email address".into(),
            MaxJobsInvalid => "Parameter maxJobs must be an integer between 1 and 50".into(),
            AccountLimit { max } => format!("Account limit reached: at most {max} accounts per user"),
            ReplyUrlTooLong => "replyUrl is too long".into(),
            ReplyUrlInvalid => "Parameter replyUrl must be an absolute http or https URL without user name or password".into(),
            ReplyUrlPrivate => {
                "Parameter replyUrl must not point to a loopback, private or link-local address".into()
            }
            ReplyRefTooLong => "Parameter replyRef must be at most 1024 characters".into(),
            WorkNameTooLong => "Parameter workName must be at most 100 characters".into(),
            ResourceNotFound => {
                "Sorry, the requested resource was not found (VALID.ResourceNotFound)".into()
            }
            ResourceUrlNotVideo => "Parameter resourceUrl must be the resourceUrl of a video uploaded with POST /assets".into(),
            CoverUrlNotImage => "Parameter coverUrl must be the url of an image or the coverUrl of a video uploaded with POST /assets".into(),
            VideoDurationOutOfRange { tenths } => format!(
                "Video must be between 2 and 10 seconds long (got {} s)",
                format_tenths(*tenths)
            ),
            TooManyJobs { email, unfinished, max_jobs, .. } => format!(
                "Too many jobs for account {email}: {unfinished} unfinished, maxJobs {max_jobs}"
            ),
            UploadContentType { content_type } => {
                format!("Content-Type {content_type} is not supported. Valid values: {UPLOAD_TYPES}")
            }
            UploadEmpty => "Request body is empty".into(),
            UploadInvalid { content_type } => format!("Uploaded file is not a valid {content_type} file"),
            ImageSize { width, height } => format!(
                "Image must be between 300 and 8192 pixels on each side (got {width}x{height})"
            ),
            VideoTooLong { tenths } => format!(
                "Video must be at most 10 seconds long (got {} s)",
                format_tenths(*tenths)
            ),
            VideoSize { width, height } => format!(
                "Video must be between 240 and 3840 pixels on each side and at most 8294400 pixels per frame (got {width}x{height})"
            ),
            VideoFrameRate { fps } => format!(
                "Video frame rate must be between 1 and 120 fps (got {} fps)",
                format_fps(*fps)
            ),
            VideoFrameCount { frames } => format!("Video must have at most 1200 frames (got {frames})"),
            UploadTooLarge { content_type, limit } => {
                format!("File too large: {content_type} uploads are limited to {limit} bytes")
            }
            InvalidParameters => "Invalid parameters".into(),
            AssetIdsInvalid { value } => format!(
                "Parameter id ({value}) must be a numeric string or a comma-separated list of up to 10 numeric strings"
            ),
            MineInvalid => "Parameter mine must be true or false".into(),
            PageNumInvalid => "Parameter pageNum must be an integer between 1 and 1000000".into(),
            PageSizeInvalid => "Parameter pageSize must be an integer between 1 and 100".into(),
            ContentTypeParamInvalid => "Parameter contentType must be one of: video, image, audio".into(),
            CursorInvalid { name } => {
                format!("Parameter {name} must be an integer between 0 and 9007199254740991")
            }
            CursorsTogether => "Parameters createdBefore and createdAfter cannot be used together".into(),
            InvalidTaskId => "Invalid task_id parameter".into(),
            TaskNotFound { id } => format!("Task {id} not found"),
            NoWorksFound { id } => format!("No works found for task {id}"),
            RunningTaskNotFound { id } => format!("Unable to locate running task_id {id}"),
            MotionCreateUnsupported => "POST /videos/motion-create is not supported by this server".into(),
            Unauthorized => "Unauthorized".into(),
            NotFound => "Not found".into(),
            MethodNotAllowed { .. } => "Method not allowed".into(),
            BodyTimeout => "Request body timeout".into(),
            BodyTooLarge { limit } => format!("Request body too large: the limit is {limit} bytes"),
            RangeNotSatisfiable { .. } => "Range not satisfiable".into(),
            TooManyRequests { .. } => "Too many requests".into(),
            Internal => "Internal server error".into(),
            Unavailable => "Service unavailable, retry later".into(),
            NotReady { component } => format!("Not ready: {component}"),
        }
    }

    /// The `code` field of the body: the status on 401 and 429 only (contract §2.5).
    pub fn body_code(&self) -> Option<u16> {
        matches!(self.status(), 401 | 429).then(|| self.status())
    }

    /// The `message` field of the body: only on the seed's `VALID.ResourceNotFound` 404.
    pub fn body_message(&self) -> Option<&'static str> {
        matches!(self, ErrorCode::ResourceNotFound).then_some("Not Found")
    }

    /// The error body in the contract's key order: `error`, then `code`, then `message`.
    pub fn body(&self) -> crate::wire::ErrorBody {
        crate::wire::ErrorBody {
            error: self.text(),
            code: self.body_code(),
            message: self.body_message().map(str::to_owned),
        }
    }

    /// The body serialised to its exact bytes.
    pub fn body_json(&self) -> String {
        serde_json::to_string(&self.body()).expect("an error body always serialises")
    }

    /// Extra response headers of this row, as `(name, value)` pairs.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        use ErrorCode::*;
        match self {
            Unauthorized => vec![("www-authenticate", "Bearer".into())],
            TooManyRequests { retry_after_s } | TooManyJobs { retry_after_s, .. } => {
                vec![("retry-after", (*retry_after_s).max(1).to_string())]
            }
            Unavailable => vec![("retry-after", UNAVAILABLE_RETRY_AFTER_S.to_string())],
            // The rest of the body was not read (or is being cut off): the connection
            // cannot be reused (contract §2.7).
            BodyTooLarge { .. } | UploadTooLarge { .. } | BodyTimeout => {
                vec![("connection", "close".into())]
            }
            MethodNotAllowed { allow } => vec![("allow", allow.clone())],
            RangeNotSatisfiable { len } => vec![("content-range", format!("bytes */{len}"))],
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status(), self.text())
    }
}

impl std::error::Error for ErrorCode {}

/// `<d>` of the duration texts: one decimal (`12.3`, `1.0`).
fn format_tenths(tenths: u64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// `<f>` of the frame-rate text: two decimals, trailing zeros and dot removed.
fn format_fps(fps: f64) -> String {
    let text = format!("{fps:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// What a use-case service returns when it fails.
///
/// `Client` carries a contract row to send as is. `Unavailable` (database or blob
/// store unreachable) becomes the 503 row, `Internal` the 500 row; their sources
/// are for the log only.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Client(ErrorCode),
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ServiceError {
    /// The contract row this failure is answered with.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Client(code) => code.clone(),
            ServiceError::Unavailable(_) => ErrorCode::Unavailable,
            ServiceError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// An internal failure from any error value.
    pub fn internal(err: impl Into<BoxError>) -> Self {
        ServiceError::Internal(err.into())
    }

    /// A storage-unavailable failure from any error value.
    pub fn unavailable(err: impl Into<BoxError>) -> Self {
        ServiceError::Unavailable(err.into())
    }
}

impl From<ErrorCode> for ServiceError {
    fn from(code: ErrorCode) -> Self {
        ServiceError::Client(code)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode::*;
    use super::*;

    fn s(v: &str) -> String {
        v.to_owned()
    }

    /// Contract §13, row by row: (status, exact body) for one instance of each row.
    /// The body strings are copied from the contract with placeholders filled in.
    #[test]
    fn table_matches_contract_section_13() {
        let rows: Vec<(ErrorCode, u16, &str)> = vec![
            (
                ParamRequired { name: s("id") },
                400,
                r#"{"error":"Parameter id is required"}"#,
            ),
            (
                ParamNotString { name: s("email") },
                400,
                r#"{"error":"Parameter email must be a string"}"#,
            ),
            (
                ParamDuplicate {
                    name: s("pageSize"),
                },
                400,
                r#"{"error":"Parameter pageSize is given more than once"}"#,
            ),
            (
                BodyContentType,
                400,
                r#"{"error":"Content-Type must be application/json, multipart/form-data or application/x-www-form-urlencoded"}"#,
            ),
            (
                BodyNotJson,
                400,
                r#"{"error":"Request body is not valid JSON"}"#,
            ),
            (
                BodyNotObject,
                400,
                r#"{"error":"Request body must be a JSON object"}"#,
            ),
            (
                BodyNotMultipart,
                400,
                r#"{"error":"Request body is not valid multipart/form-data"}"#,
            ),
            (
                BodyFilePart,
                400,
                r#"{"error":"File parts are not accepted, upload files with POST /assets"}"#,
            ),
            (
                EmailRequiredForSeveralAccounts,
                400,
                r#"{"error":"Parameter email is required when more than one account is configured"}"#,
            ),
            (
                EmailInvalid,
                400,
                r#"{"error":"Parameter email is not a valid email address"}"#,
            ),
            (
                MaxJobsInvalid,
                400,
                r#"{"error":"Parameter maxJobs must be an integer between 1 and 50"}"#,
            ),
            (
                AccountLimit { max: 10 },
                400,
                r#"{"error":"Account limit reached: at most 10 accounts per user"}"#,
            ),
            (ReplyUrlTooLong, 400, r#"{"error":"replyUrl is too long"}"#),
            (
                ReplyUrlInvalid,
                400,
                r#"{"error":"Parameter replyUrl must be an absolute http or https URL without user name or password"}"#,
            ),
            (
                ReplyUrlPrivate,
                400,
                r#"{"error":"Parameter replyUrl must not point to a loopback, private or link-local address"}"#,
            ),
            (
                ReplyRefTooLong,
                400,
                r#"{"error":"Parameter replyRef must be at most 1024 characters"}"#,
            ),
            (
                WorkNameTooLong,
                400,
                r#"{"error":"Parameter workName must be at most 100 characters"}"#,
            ),
            (
                ResourceUrlNotVideo,
                400,
                r#"{"error":"Parameter resourceUrl must be the resourceUrl of a video uploaded with POST /assets"}"#,
            ),
            (
                CoverUrlNotImage,
                400,
                r#"{"error":"Parameter coverUrl must be the url of an image or the coverUrl of a video uploaded with POST /assets"}"#,
            ),
            (
                VideoDurationOutOfRange { tenths: 10 },
                400,
                r#"{"error":"Video must be between 2 and 10 seconds long (got 1.0 s)"}"#,
            ),
            (
                UploadContentType {
                    content_type: s("audio/wav"),
                },
                400,
                r#"{"error":"Content-Type audio/wav is not supported. Valid values: image/png,image/jpeg,video/mp4,video/quicktime"}"#,
            ),
            (UploadEmpty, 400, r#"{"error":"Request body is empty"}"#),
            (
                UploadInvalid {
                    content_type: s("video/mp4"),
                },
                400,
                r#"{"error":"Uploaded file is not a valid video/mp4 file"}"#,
            ),
            (
                ImageSize {
                    width: 1,
                    height: 1,
                },
                400,
                r#"{"error":"Image must be between 300 and 8192 pixels on each side (got 1x1)"}"#,
            ),
            (
                VideoTooLong { tenths: 123 },
                400,
                r#"{"error":"Video must be at most 10 seconds long (got 12.3 s)"}"#,
            ),
            (
                VideoSize {
                    width: 100,
                    height: 4000,
                },
                400,
                r#"{"error":"Video must be between 240 and 3840 pixels on each side and at most 8294400 pixels per frame (got 100x4000)"}"#,
            ),
            (
                VideoFrameRate { fps: 1000.0 },
                400,
                r#"{"error":"Video frame rate must be between 1 and 120 fps (got 1000 fps)"}"#,
            ),
            (
                VideoFrameCount { frames: 100000 },
                400,
                r#"{"error":"Video must have at most 1200 frames (got 100000)"}"#,
            ),
            (InvalidParameters, 400, r#"{"error":"Invalid parameters"}"#),
            (
                AssetIdsInvalid { value: s("1,x") },
                400,
                r#"{"error":"Parameter id (1,x) must be a numeric string or a comma-separated list of up to 10 numeric strings"}"#,
            ),
            (
                MineInvalid,
                400,
                r#"{"error":"Parameter mine must be true or false"}"#,
            ),
            (
                PageNumInvalid,
                400,
                r#"{"error":"Parameter pageNum must be an integer between 1 and 1000000"}"#,
            ),
            (
                PageSizeInvalid,
                400,
                r#"{"error":"Parameter pageSize must be an integer between 1 and 100"}"#,
            ),
            (
                ContentTypeParamInvalid,
                400,
                r#"{"error":"Parameter contentType must be one of: video, image, audio"}"#,
            ),
            (
                CursorInvalid {
                    name: s("createdBefore"),
                },
                400,
                r#"{"error":"Parameter createdBefore must be an integer between 0 and 9007199254740991"}"#,
            ),
            (
                CursorInvalid {
                    name: s("createdAfter"),
                },
                400,
                r#"{"error":"Parameter createdAfter must be an integer between 0 and 9007199254740991"}"#,
            ),
            (
                CursorsTogether,
                400,
                r#"{"error":"Parameters createdBefore and createdAfter cannot be used together"}"#,
            ),
            (
                InvalidTaskId,
                400,
                r#"{"error":"Invalid task_id parameter"}"#,
            ),
            (Unauthorized, 401, r#"{"error":"Unauthorized","code":401}"#),
            (NotFound, 404, r#"{"error":"Not found"}"#),
            (
                AccountNotFound { email: s("a@b.c") },
                404,
                r#"{"error":"Account a@b.c not found"}"#,
            ),
            (
                ConfigurationNotFound,
                404,
                r#"{"error":"Configuration not found. To create configuration use POST /accounts."}"#,
            ),
            (
                ResourceNotFound,
                404,
                r#"{"error":"Sorry, the requested resource was not found (VALID.ResourceNotFound)","message":"Not Found"}"#,
            ),
            (
                TaskNotFound { id: 42 },
                404,
                r#"{"error":"Task 42 not found"}"#,
            ),
            (
                NoWorksFound { id: 42 },
                404,
                r#"{"error":"No works found for task 42"}"#,
            ),
            (
                RunningTaskNotFound { id: 42 },
                404,
                r#"{"error":"Unable to locate running task_id 42"}"#,
            ),
            (
                MethodNotAllowed {
                    allow: s("GET,HEAD"),
                },
                405,
                r#"{"error":"Method not allowed"}"#,
            ),
            (BodyTimeout, 408, r#"{"error":"Request body timeout"}"#),
            (
                BodyTooLarge { limit: 65536 },
                413,
                r#"{"error":"Request body too large: the limit is 65536 bytes"}"#,
            ),
            (
                UploadTooLarge {
                    content_type: s("video/mp4"),
                    limit: 104857600,
                },
                413,
                r#"{"error":"File too large: video/mp4 uploads are limited to 104857600 bytes"}"#,
            ),
            (
                RangeNotSatisfiable { len: 10 },
                416,
                r#"{"error":"Range not satisfiable"}"#,
            ),
            (
                TooManyJobs {
                    email: s("a@b.c"),
                    unfinished: 2,
                    max_jobs: 2,
                    retry_after_s: 10,
                },
                429,
                r#"{"error":"Too many jobs for account a@b.c: 2 unfinished, maxJobs 2","code":429}"#,
            ),
            (
                TooManyRequests { retry_after_s: 1 },
                429,
                r#"{"error":"Too many requests","code":429}"#,
            ),
            (Internal, 500, r#"{"error":"Internal server error"}"#),
            (
                MotionCreateUnsupported,
                501,
                r#"{"error":"POST /videos/motion-create is not supported by this server"}"#,
            ),
            (
                Unavailable,
                503,
                r#"{"error":"Service unavailable, retry later"}"#,
            ),
            (
                NotReady {
                    component: s("database"),
                },
                503,
                r#"{"error":"Not ready: database"}"#,
            ),
        ];
        // §13 has 57 body rows (createdBefore/createdAfter share one); every row is here.
        assert_eq!(rows.len(), 57);
        for (code, status, body) in rows {
            assert_eq!(code.status(), status, "status of {code:?}");
            assert_eq!(code.body_json(), body, "body of {code:?}");
        }
    }

    #[test]
    fn headers_follow_the_contract() {
        assert_eq!(
            Unauthorized.headers(),
            vec![("www-authenticate", s("Bearer"))]
        );
        assert_eq!(Unavailable.headers(), vec![("retry-after", s("5"))]);
        assert_eq!(
            TooManyRequests { retry_after_s: 0 }.headers(),
            vec![("retry-after", s("1"))]
        );
        let jobs = TooManyJobs {
            email: s("a@b.c"),
            unfinished: 1,
            max_jobs: 1,
            retry_after_s: 10,
        };
        assert_eq!(jobs.headers(), vec![("retry-after", s("10"))]);
        assert_eq!(
            BodyTooLarge { limit: 1 }.headers(),
            vec![("connection", s("close"))]
        );
        assert_eq!(BodyTimeout.headers(), vec![("connection", s("close"))]);
        assert_eq!(
            MethodNotAllowed {
                allow: s("GET,HEAD")
            }
            .headers(),
            vec![("allow", s("GET,HEAD"))]
        );
        assert_eq!(
            RangeNotSatisfiable { len: 10 }.headers(),
            vec![("content-range", s("bytes */10"))]
        );
        assert!(NotFound.headers().is_empty());
    }

    #[test]
    fn frame_rates_drop_trailing_zeros() {
        assert_eq!(format_fps(29.97002997), "29.97");
        assert_eq!(format_fps(30.0), "30");
        assert_eq!(format_fps(1000.0), "1000");
        assert_eq!(format_fps(0.5), "0.5");
        assert_eq!(format_fps(23.976), "23.98");
    }

    #[test]
    fn service_errors_hide_internals() {
        let err = ServiceError::internal("disk full at /secret/path");
        assert_eq!(err.code(), Internal);
        assert!(!err.code().body_json().contains("secret"));
        assert_eq!(ServiceError::unavailable("db down").code(), Unavailable);
        assert_eq!(ServiceError::from(MineInvalid).code(), MineInvalid);
    }
}
