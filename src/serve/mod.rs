//! `onlooker serve`: the workshop page and its API, on the loopback
//! interface unless asked otherwise. Uploads are analysed in memory by one
//! [`Engine`] built at start (models loaded once) and dropped when the
//! response is sent: nothing is written to disk, and nothing naming a file
//! is printed unless `verbose`.
//!
//! Memory stays bounded under load: at most `threads + queue` requests are
//! admitted at once (each at most `max_upload_bytes`), the others get 503
//! with `Retry-After`; at most `threads` images are analysed at once, so at
//! most `threads` analyzers (sets of sessions) ever exist.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Semaphore;

use crate::batch::{Engine, Plan};
use crate::countries::Countries;
use crate::error::SetupError;
use crate::pipeline::Options;
use crate::runtime::Runtime;

mod access;
mod api;
mod memfile;
mod page;
mod qr;

pub use access::new_token;
pub use api::ApiError;
pub use page::{fragment, CSP};

/// The port `onlooker serve` listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8737;
/// Largest request body, in MiB, unless told otherwise.
pub const DEFAULT_MAX_UPLOAD_MIB: u64 = 64;
/// Largest single uploaded file, in MiB, unless told otherwise.
pub const DEFAULT_MAX_FILE_MIB: u64 = 32;
/// Requests admitted beyond those being analysed, unless told otherwise.
pub const DEFAULT_QUEUE: usize = 8;

/// Everything `onlooker serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen: `127.0.0.1:DEFAULT_PORT` unless told otherwise.
    pub addr: SocketAddr,
    /// Largest request body (all its files together), in bytes.
    pub max_upload_bytes: u64,
    /// Largest single file, in bytes (also the decoder's file limit).
    pub max_file_bytes: u64,
    /// Images analysed at once (and analyzers built).
    pub threads: usize,
    /// Requests admitted, beyond `threads`, to wait for a free worker.
    pub queue: usize,
    pub analysis: Options,
    /// Print one line per request, naming its files.
    pub verbose: bool,
    /// The access token every request must carry (`--listen`): in the
    /// query (`?token=`), then in a cookie the server sets.
    pub token: Option<String>,
}

impl ServeConfig {
    pub fn new(analysis: Options) -> Self {
        ServeConfig {
            addr: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_MIB << 20,
            max_file_bytes: DEFAULT_MAX_FILE_MIB << 20,
            threads: crate::batch::default_threads(),
            queue: DEFAULT_QUEUE,
            analysis,
            verbose: false,
            token: None,
        }
    }
}

/// Why the server could not start (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// What every request handler shares.
pub(crate) struct App {
    pub(crate) engine: Engine<'static>,
    pub(crate) config: ServeConfig,
    /// Requests admitted at once (analysing or waiting).
    pub(crate) admitted: Arc<Semaphore>,
    /// Images analysed at once.
    pub(crate) workers: Arc<Semaphore>,
    /// Country outlines for the map's inset, as in `analyze`'s report
    /// (none if they do not load: the map is drawn without its inset).
    pub(crate) countries: Option<Countries>,
}

/// The routes, over an engine built from `config` (models loaded now).
pub fn router(rt: &'static Runtime, config: ServeConfig) -> Result<Router, ServeError> {
    if config.threads == 0 {
        return Err(ServeError::Usage("--threads must be at least 1".into()));
    }
    if config.max_upload_bytes == 0 || config.max_file_bytes == 0 {
        return Err(ServeError::Usage(
            "--max-upload-mib and --max-file-mib must be at least 1".into(),
        ));
    }
    let mut analysis = config.analysis.clone();
    analysis.limits.max_file_bytes = config.max_file_bytes;
    let engine = Engine::new(rt, &analysis, Plan::new(config.threads))?;
    // Every worker's sessions now: the first request does not pay for them.
    engine.build_all()?;
    let app = Arc::new(App {
        engine,
        admitted: Arc::new(Semaphore::new(config.threads + config.queue)),
        workers: Arc::new(Semaphore::new(config.threads)),
        countries: Countries::load(&rt.models_dir).ok(),
        config,
    });
    let body_limit = usize::try_from(app.config.max_upload_bytes).unwrap_or(usize::MAX);
    Ok(Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/page.css", get(page::style))
        .route("/report.css", get(page::report_style))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/api/analyze",
            post(api::analyze).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route(
            "/api/report",
            post(page::report).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route(
            "/api/findings",
            post(page::findings).layer(DefaultBodyLimit::max(body_limit)),
        )
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            access::check,
        ))
        .layer(axum::middleware::from_fn(page::headers))
        .with_state(app))
}

/// Serves until Ctrl-C (or SIGTERM), then finishes the requests under way
/// and returns. Prints the page's address once listening.
pub fn serve(rt: &'static Runtime, config: ServeConfig) -> Result<(), ServeError> {
    let addr = config.addr;
    let token = config.token.clone();
    let router = router(rt, config)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("onlooker-serve")
        .enable_all()
        .build()?;
    let served = tokio.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let local = listener.local_addr()?;
        match &token {
            None => println!("onlooker serve: http://{local}/"),
            Some(t) => {
                println!("onlooker serve: http://{local}/?token={t}");
                eprintln!(
                    "onlooker serve: WARNING: listening on {local}, not only on this computer: \
                     anyone on this network who has the address above (with its token) can \
                     upload photos; without the token every request is refused"
                );
                if local.ip().is_unspecified() {
                    eprintln!(
                        "onlooker serve: {} means every interface: give phones this \
                         computer's address on the room network instead (listen on that \
                         address to get a QR code for it)",
                        local.ip()
                    );
                } else if let Some(code) = qr::text(&format!("http://{local}/?token={t}")) {
                    println!("onlooker serve: the same address for a phone's camera:\n{code}");
                }
            }
        }
        println!("onlooker serve: photos are analysed in memory and not kept; Ctrl-C stops");
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        Ok::<(), ServeError>(())
    });
    // Analyses still running finish (their responses are dropped).
    tokio.shutdown_timeout(Duration::from_secs(30));
    served?;
    println!("onlooker serve: stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
