//! `POST /api/analyze`: a `multipart/form-data` body of `file` parts in,
//! the JSON document of `onlooker analyze --json` out.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedSemaphorePermit;

use super::{memfile, App};
use crate::pipeline::{self, Options};
use crate::report::keyframes::{self, VideoFiles};
use crate::report::{self, annotate, html::Annotated};
use crate::result::{ImageResult, Summary, VideoResult};
use crate::run;
use crate::video::{self, probe::Container, VideoOptions};

/// Why a request got no analysis: each is one status and a JSON
/// `{"error": "..."}` body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("expected a multipart/form-data body with one or more `file` parts")]
    NotMultipart,
    #[error("no `file` part in the form")]
    NoFile,
    #[error("expected an application/json body")]
    NotJson,
    #[error("malformed multipart body: {0}")]
    Malformed(String),
    #[error("the upload is larger than the server's limit of {limit_mib} MiB per request")]
    RequestTooLarge { limit_mib: u64 },
    #[error("file {index} is larger than the server's limit of {limit_mib} MiB per file")]
    FileTooLarge { index: usize, limit_mib: u64 },
    #[error("busy: too many analyses under way, try again in a moment")]
    Busy,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotMultipart
            | ApiError::NoFile
            | ApiError::NotJson
            | ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::RequestTooLarge { .. } | ApiError::FileTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() }).to_string();
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if matches!(self, ApiError::Busy) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        response
    }
}

/// One uploaded file, in memory.
pub(crate) struct Upload {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
}

/// The analysed uploads of one request, photos and videos each in upload
/// order, with their batch summary (as `analyze` computes it).
pub(crate) struct Analysed {
    pub(crate) results: Vec<ImageResult>,
    /// The annotated copies, when asked for (else empty).
    pub(crate) copies: Vec<Annotated>,
    pub(crate) videos: Vec<VideoResult>,
    /// Each video's keyframes as `data:` URLs, when copies were asked for
    /// (else empty).
    pub(crate) video_files: Vec<VideoFiles>,
    pub(crate) summary: Summary,
}

pub(crate) async fn analyze(State(app): State<Arc<App>>, request: Request) -> Response {
    match analyze_request(&app, request, false).await {
        Ok(a) => match report::to_json_with_videos(&a.results, &a.videos, &a.summary) {
            Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
            Err(e) => ApiError::Internal(e.to_string()).into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// Admits the request (or answers 503), reads its files and analyses them.
/// With `with_copies`, each image's annotated copy is drawn in memory and
/// kept as a `data:` URL in `copies`.
pub(crate) async fn analyze_request(
    app: &Arc<App>,
    request: Request,
    with_copies: bool,
) -> Result<Analysed, ApiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        return Err(ApiError::NotMultipart);
    }
    let limit = app.config.max_upload_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::RequestTooLarge {
            limit_mib: limit >> 20,
        });
    }
    // Admitted before the body is read: a refused request costs no memory.
    let admitted = match app.admitted.clone().try_acquire_owned() {
        Ok(permit) => Arc::new(permit),
        Err(_) => {
            // Read and dropped, so the client sees the answer rather than
            // a connection closed under its upload.
            drain(request.into_body(), limit).await;
            return Err(ApiError::Busy);
        }
    };
    let uploads = read_uploads(app, request).await?;
    let start = Instant::now();
    let names: Vec<String> = if app.config.verbose {
        uploads.iter().map(|u| u.name.clone()).collect()
    } else {
        Vec::new()
    };
    // Videos are told by their content, as `analyze` tells them.
    let (videos, images): (Vec<Upload>, Vec<Upload>) = uploads
        .into_iter()
        .partition(|u| Container::sniff(&u.bytes).is_some());
    let analysed = analyze_uploads(app, images, &admitted, with_copies).await?;
    let (mut results, copies): (Vec<ImageResult>, Vec<Annotated>) = analysed.into_iter().unzip();
    let seconds = start.elapsed().as_secs_f64();
    let mut videos_analysed = Vec::with_capacity(videos.len());
    let mut held = Vec::with_capacity(videos.len());
    for upload in videos {
        let (analysed, file) = analyze_video(app, upload).await?;
        videos_analysed.push(analysed);
        held.push(file);
    }
    if app.config.verbose {
        eprintln!(
            "onlooker serve: analysed {} files in {:.2} s: {}",
            names.len(),
            start.elapsed().as_secs_f64(),
            names.join(", ")
        );
    }
    let summary = run::complete(
        &mut results,
        &mut videos_analysed,
        seconds,
        app.config.analysis.identity,
    );
    let (videos, frames): (Vec<VideoResult>, Vec<_>) = videos_analysed
        .into_iter()
        .map(|v| (v.result, v.keyframes))
        .unzip();
    let (videos, video_files) = if with_copies && !videos.is_empty() {
        let app = Arc::clone(app);
        tokio::task::spawn_blocking(move || {
            let files = keyframes::inline(&videos, &frames, app.engine.pool());
            // The in-memory copies of the videos go only now: the
            // keyframes were read from them again.
            drop(held);
            (videos, files)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    } else {
        (videos, Vec::new())
    };
    Ok(Analysed {
        results,
        copies,
        videos,
        video_files,
        summary,
    })
}

/// Analyses one uploaded video on all the engine's workers (it waits for
/// every image under way to finish first), from an in-memory file that
/// ffmpeg reads by path: nothing is written to disk. The file is returned
/// with the result, for the keyframes; a problem with the video is in the
/// result's `error`, named after the upload, as for a photo.
async fn analyze_video(
    app: &Arc<App>,
    upload: Upload,
) -> Result<(video::Analysed, Option<memfile::MemFile>), ApiError> {
    let all = u32::try_from(app.config.threads).unwrap_or(u32::MAX);
    let workers = app
        .workers
        .clone()
        .acquire_many_owned(all)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || {
        let _workers = workers;
        let name = upload.name;
        let file = match memfile::from_bytes(&upload.bytes) {
            Ok(f) => f,
            Err(e) => {
                let error = video::VideoError::Read(e);
                return Ok((video::Analysed::failed(Path::new(&name), error), None));
            }
        };
        drop(upload.bytes);
        let options = app.engine.options();
        let mut analysed = video::analyze(
            &app.engine,
            file.path(),
            &VideoOptions::default(),
            &options.limits,
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        // Messages name the upload, not the in-memory file.
        let inner = file.path().display().to_string();
        analysed.result.path = name.clone();
        if let Some(e) = analysed.result.error.as_mut() {
            *e = e.replace(&inner, &name);
        }
        Ok((analysed, Some(file)))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// The `file` parts of the body, each whole in memory; other parts are
/// read and dropped.
async fn read_uploads(app: &Arc<App>, request: Request) -> Result<Vec<Upload>, ApiError> {
    let request_limit = app.config.max_upload_bytes;
    let file_limit = app.config.max_file_bytes;
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::Malformed(e.body_text()))?;
    let part_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::RequestTooLarge {
                limit_mib: request_limit >> 20,
            }
        } else {
            ApiError::Malformed(e.body_text())
        }
    };
    let mut uploads = Vec::new();
    // A file over the limit: the rest of the body is read and dropped
    // (within the request limit), then the answer is 413.
    let mut too_large: Option<ApiError> = None;
    while let Some(mut field) = form.next_field().await.map_err(part_error)? {
        let keep = field.name() == Some("file") && too_large.is_none();
        let index = uploads.len() + 1;
        let name = field
            .file_name()
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("upload-{index}"));
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(part_error)? {
            if !keep || too_large.is_some() {
                continue;
            }
            if (bytes.len() + chunk.len()) as u64 > file_limit {
                too_large = Some(ApiError::FileTooLarge {
                    index,
                    limit_mib: file_limit >> 20,
                });
                bytes = Vec::new();
                uploads.clear();
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        if keep && too_large.is_none() {
            uploads.push(Upload { name, bytes });
        }
    }
    if let Some(e) = too_large {
        return Err(e);
    }
    if uploads.is_empty() {
        return Err(ApiError::NoFile);
    }
    Ok(uploads)
}

/// Reads and drops up to `limit` bytes of a body nobody will use.
pub(crate) async fn drain(body: axum::body::Body, limit: u64) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = 0u64;
    while read <= limit {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => break,
        }
    }
}

/// Analyses the uploads on the engine, at most `threads` images at once
/// across all requests; results in upload order. Each analysis holds the
/// request's admission until it ends, so a client that goes away does not
/// free a place while its images still take memory.
pub(crate) async fn analyze_uploads(
    app: &Arc<App>,
    uploads: Vec<Upload>,
    admitted: &Arc<OwnedSemaphorePermit>,
    with_copies: bool,
) -> Result<Vec<(ImageResult, Annotated)>, ApiError> {
    let mut tasks = Vec::with_capacity(uploads.len());
    for upload in uploads {
        let app = Arc::clone(app);
        let admitted = Arc::clone(admitted);
        tasks.push(tokio::spawn(async move {
            let _admitted = admitted;
            let _worker = app
                .workers
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let engine_app = Arc::clone(&app);
            tokio::task::spawn_blocking(move || {
                let app = engine_app;
                let copy = with_copies.then(|| upload.bytes.clone());
                let result = app
                    .engine
                    .analyze_bytes(Path::new(&upload.name), upload.bytes)?;
                let annotated = match copy {
                    Some(bytes) if result.error.is_none() => {
                        annotated_copy(bytes, &result, app.engine.options())
                    }
                    _ => Annotated::None,
                };
                Ok::<_, crate::error::SetupError>((result, annotated))
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))
        }));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(
            task.await
                .map_err(|e| ApiError::Internal(e.to_string()))??,
        );
    }
    Ok(results)
}

/// The annotated copy of an analysed upload, drawn and encoded in memory,
/// as a `data:` URL.
fn annotated_copy(bytes: Vec<u8>, result: &ImageResult, options: &Options) -> Annotated {
    use base64::Engine as _;
    let loaded = match pipeline::decode(bytes, options) {
        Ok(l) => l,
        Err(e) => return Annotated::Failed(e.to_string()),
    };
    let copy = annotate::annotate_screen(loaded.rgb, result);
    match annotate::encode_jpeg(&copy) {
        Ok(jpeg) => Annotated::Written(format!(
            "data:image/jpeg;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(jpeg)
        )),
        Err(e) => Annotated::Failed(e),
    }
}
