// SPDX-License-Identifier: LGPL-2.1-or-later
//! rbtest-plugin: a Rust test plugin for rustbridge-glib.
//!
//! It exports the rustbridge plugin C ABI (doc/plugin-abi.md) and reproduces the
//! framework's observable behaviour, including its library-global quirks:
//! one log callback and one log level per loaded library, raw (binary)
//! handlers registered per library and cleared by any shutdown, id-based
//! handles, one multi-threaded tokio runtime per handle with worker threads
//! named `rustbridge-work`, handlers run with `block_on` on the caller's
//! thread, panics caught at the FFI boundary (error 11, plugin failed).
//!
//! Must build with rustc 1.63 and the crates Debian bookworm ships.

use once_cell::sync::Lazy;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::alloc::{self, Layout};
use std::any::Any;
use std::collections::HashMap;
use std::ffi::{c_void, CStr};
use std::mem::{self, ManuallyDrop};
use std::os::raw::c_char;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// Constants of the ABI

const ERR_INVALID_STATE: u32 = 1;
const ERR_INIT_FAILED: u32 = 2;
const ERR_CONFIG: u32 = 4;
const ERR_SERIALIZATION: u32 = 5;
const ERR_UNKNOWN_MESSAGE: u32 = 6;
const ERR_HANDLER: u32 = 7;
const ERR_INTERNAL: u32 = 11;
const ERR_TOO_MANY_REQUESTS: u32 = 13;

const STATE_STARTING: u8 = 1;
const STATE_ACTIVE: u8 = 2;
const STATE_STOPPING: u8 = 3;
const STATE_STOPPED: u8 = 4;
const STATE_FAILED: u8 = 5;
const STATE_UNKNOWN: u8 = 255;

const LEVEL_TRACE: u8 = 0;
const LEVEL_DEBUG: u8 = 1;
const LEVEL_INFO: u8 = 2;
const LEVEL_WARN: u8 = 3;
const LEVEL_ERROR: u8 = 4;
const LEVEL_OFF: u8 = 5;

/// What `plugin_shutdown` waits for in-flight calls, whatever the config says.
const SHUTDOWN_WAIT: Duration = Duration::from_millis(5000);

/// Raw message id of the echo struct (layouts in rust-raw.h).
const RAW_MSG_ECHO: u32 = 1;

// Log targets (NUL-terminated, passed to the callback as C strings).
const TARGET_PLUGIN: &[u8] = b"rbtest_plugin\0";
const TARGET_HANDLE: &[u8] = b"rustbridge_ffi::handle\0";
const TARGET_EXPORTS: &[u8] = b"rustbridge_ffi::exports\0";
const TARGET_PANIC: &[u8] = b"rustbridge_ffi::panic_guard\0";

// ---------------------------------------------------------------------------
// FFI structures

/// Returned by `plugin_call` (32 bytes).
#[repr(C)]
pub struct RbFfiBuffer {
    pub data: *mut u8,
    pub len: usize,
    pub capacity: usize,
    pub error_code: u32,
}

impl RbFfiBuffer {
    fn from_vec(bytes: Vec<u8>, error_code: u32) -> RbFfiBuffer {
        let mut bytes = ManuallyDrop::new(bytes);
        RbFfiBuffer {
            data: bytes.as_mut_ptr(),
            len: bytes.len(),
            capacity: bytes.capacity(),
            error_code,
        }
    }

    /// An "early" error: plain UTF-8 text, not an envelope.
    fn plain_error(error_code: u32, message: &str) -> RbFfiBuffer {
        RbFfiBuffer::from_vec(message.as_bytes().to_vec(), error_code)
    }

    /// A handler error: `{"status":"error","error_code":N,"error_message":"..."}`.
    fn envelope_error(err: &PluginError) -> RbFfiBuffer {
        let envelope = ErrorEnvelope {
            status: "error",
            error_code: err.code,
            error_message: &err.message,
        };
        match serde_json::to_vec(&envelope) {
            Ok(bytes) => RbFfiBuffer::from_vec(bytes, err.code),
            Err(e) => RbFfiBuffer::plain_error(err.code, &format!("{}: {}", err.message, e)),
        }
    }
}

/// Returned by `plugin_call_raw` (24 bytes).
#[repr(C)]
pub struct RbResponse {
    pub error_code: u32,
    pub len: u32,
    pub capacity: u32,
    pub data: *mut c_void,
}

/// Alignment of raw response allocations, so the host may read the
/// response struct in place.
const RAW_ALIGN: usize = 8;

impl RbResponse {
    fn from_bytes(bytes: &[u8], error_code: u32) -> RbResponse {
        let size = bytes.len().max(1);
        let layout = match Layout::from_size_align(size, RAW_ALIGN) {
            Ok(l) => l,
            Err(_) => return RbResponse::empty(ERR_INTERNAL),
        };
        // SAFETY: size > 0.
        let data = unsafe { alloc::alloc_zeroed(layout) };
        if data.is_null() {
            return RbResponse::empty(ERR_INTERNAL);
        }
        // SAFETY: data holds at least bytes.len() bytes.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len()) };
        RbResponse {
            error_code,
            len: bytes.len() as u32,
            capacity: size as u32,
            data: data as *mut c_void,
        }
    }

    fn empty(error_code: u32) -> RbResponse {
        RbResponse {
            error_code,
            len: 0,
            capacity: 0,
            data: ptr::null_mut(),
        }
    }

    /// Error text, NUL-terminated (`len` counts the NUL).
    fn error(error_code: u32, message: &str) -> RbResponse {
        let mut text: Vec<u8> = message.bytes().filter(|b| *b != 0).collect();
        text.push(0);
        RbResponse::from_bytes(&text, error_code)
    }
}

/// Raw request for message 1 (64 bytes; `RbTestRawEchoRequest` in rust-raw.h).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawEchoRequest {
    version: u8,
    _pad: [u8; 3],
    value: u32,
    text: [u8; 56],
}

/// Raw response for message 1 (68 bytes; `RbTestRawEchoResponse` in rust-raw.h).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawEchoResponse {
    version: u8,
    _pad: [u8; 3],
    value_times_two: u32,
    text_len: u32,
    text: [u8; 56],
}

// Compile-time layout checks (a size mismatch fails to type-check).
const _: [(); 64] = [(); mem::size_of::<RawEchoRequest>()];
const _: [(); 68] = [(); mem::size_of::<RawEchoResponse>()];
const _: [(); 32] = [(); mem::size_of::<RbFfiBuffer>()];
const _: [(); 24] = [(); mem::size_of::<RbResponse>()];

// ---------------------------------------------------------------------------
// Logging: one callback and one level for the whole library

/// `void (*)(uint8_t level, const char *target, const uint8_t *msg, size_t len)`
pub type RbLogCallback = unsafe extern "C" fn(u8, *const c_char, *const u8, usize);

/// The callback as a plain address (0 = none). Library-global.
static LOG_CALLBACK: AtomicUsize = AtomicUsize::new(0);
static LOG_LEVEL: AtomicU8 = AtomicU8::new(LEVEL_INFO);

fn set_log_callback(cb: Option<RbLogCallback>) {
    let address = match cb {
        Some(f) => f as usize,
        None => 0,
    };
    LOG_CALLBACK.store(address, Ordering::SeqCst);
}

/// Sends one message through the callback, if any and if `level` passes.
/// `target` must be NUL-terminated.
fn log_at(level: u8, target: &'static [u8], message: &str) {
    if level >= LEVEL_OFF || level < LOG_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let address = LOG_CALLBACK.load(Ordering::SeqCst);
    if address == 0 {
        return;
    }
    // SAFETY: only addresses of `RbLogCallback` values are ever stored.
    let cb: RbLogCallback = unsafe { mem::transmute::<usize, RbLogCallback>(address) };
    // SAFETY: target is NUL-terminated, message valid for its length.
    unsafe {
        cb(
            level,
            target.as_ptr() as *const c_char,
            message.as_ptr(),
            message.len(),
        )
    };
}

/// Log level from its config / request spelling; unknown strings mean info.
fn parse_level(name: &str) -> u8 {
    match name {
        "trace" => LEVEL_TRACE,
        "debug" => LEVEL_DEBUG,
        "info" => LEVEL_INFO,
        "warn" => LEVEL_WARN,
        "error" => LEVEL_ERROR,
        "off" => LEVEL_OFF,
        _ => LEVEL_INFO,
    }
}

// ---------------------------------------------------------------------------
// Panics

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("Plugin panicked: {}", s)
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("Plugin panicked: {}", s)
    } else {
        "Plugin panicked with unknown payload".to_string()
    }
}

/// Like the framework: panics are reported through the log callback (at
/// error level) instead of the default stderr hook. The hook belongs to
/// this library's copy of std only.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let payload = if let Some(s) = info.payload().downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "Box<dyn Any>".to_string()
            };
            let message = match info.location() {
                Some(l) => format!(
                    "PANIC: Panic at {}:{}:{}: {}",
                    l.file(),
                    l.line(),
                    l.column(),
                    payload
                ),
                None => format!("PANIC: Panic at unknown location: {}", payload),
            };
            log_at(LEVEL_ERROR, TARGET_PANIC, &message);
        }));
    });
}

// ---------------------------------------------------------------------------
// Errors and envelopes

#[derive(Debug)]
struct PluginError {
    code: u32,
    message: String,
}

impl PluginError {
    fn new(code: u32, message: impl Into<String>) -> PluginError {
        PluginError {
            code,
            message: message.into(),
        }
    }

    fn serialization(e: serde_json::Error) -> PluginError {
        PluginError::new(ERR_SERIALIZATION, format!("Serialization error: {}", e))
    }
}

#[derive(Serialize)]
struct SuccessEnvelope<'a> {
    status: &'static str,
    payload: &'a RawValue,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    status: &'static str,
    error_code: u32,
    error_message: &'a str,
}

// ---------------------------------------------------------------------------
// Configuration

fn default_log_level() -> String {
    "info".to_string()
}
fn default_max_concurrent_ops() -> usize {
    1000
}
fn default_shutdown_timeout_ms() -> u64 {
    5000
}

#[derive(Deserialize, Debug)]
struct PluginConfig {
    #[serde(default = "default_log_level")]
    log_level: String,
    #[serde(default)]
    worker_threads: Option<usize>,
    #[serde(default = "default_max_concurrent_ops")]
    max_concurrent_ops: usize,
    #[serde(default = "default_shutdown_timeout_ms")]
    shutdown_timeout_ms: u64,
    #[serde(default)]
    data: serde_json::Value,
    #[serde(default)]
    #[allow(dead_code)]
    init_params: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Default for PluginConfig {
    fn default() -> PluginConfig {
        PluginConfig {
            log_level: default_log_level(),
            worker_threads: None,
            max_concurrent_ops: default_max_concurrent_ops(),
            shutdown_timeout_ms: default_shutdown_timeout_ms(),
            data: serde_json::Value::Null,
            init_params: None,
        }
    }
}

// ---------------------------------------------------------------------------
// Plugin object and handles

/// What `plugin_create` returns; `plugin_init` takes ownership.
pub struct Plugin {
    /// The config's `data` as the factory saw it: only
    /// `plugin_create_with_config` gives it (`plugin_create` uses the
    /// default config, whose data is null).
    factory_data: serde_json::Value,
}

struct PluginHandle {
    id: u64,
    state: AtomicU8,
    /// Owned runtime; taken by shutdown.
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    /// Used by calls (so shutdown can own the runtime).
    rt: tokio::runtime::Handle,
    in_flight: AtomicUsize,
    max_concurrent_ops: usize,
    rejected: AtomicU64,
    calls: AtomicU64,
    shutdown_timeout_ms: u64,
    shutting_down: AtomicBool,
    factory_data: serde_json::Value,
}

static HANDLES: Lazy<Mutex<HashMap<u64, Arc<PluginHandle>>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn lookup(handle: *mut c_void) -> Option<Arc<PluginHandle>> {
    let id = handle as usize as u64;
    lock(&HANDLES).get(&id).cloned()
}

/// Counts an admitted call for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> Drop for InFlight<'a> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PluginHandle {
    fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    fn mark_failed(&self) {
        log_at(
            LEVEL_ERROR,
            TARGET_HANDLE,
            "Marking plugin as failed due to panic or unrecoverable error",
        );
        let _ = self.state.compare_exchange(
            STATE_ACTIVE,
            STATE_FAILED,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    /// Admission: active state, then the concurrency limit.
    fn admit(&self) -> Result<InFlight<'_>, PluginError> {
        let previous = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(&self.in_flight);
        let state = self.state();
        if state != STATE_ACTIVE {
            return Err(PluginError::new(
                ERR_INVALID_STATE,
                format!(
                    "Invalid state: expected Active, actual {}",
                    state_name(state)
                ),
            ));
        }
        if self.max_concurrent_ops > 0 && previous >= self.max_concurrent_ops {
            self.rejected.fetch_add(1, Ordering::SeqCst);
            return Err(PluginError::new(
                ERR_TOO_MANY_REQUESTS,
                format!(
                    "Too many concurrent requests (limit: {})",
                    self.max_concurrent_ops
                ),
            ));
        }
        Ok(guard)
    }
}

fn state_name(state: u8) -> &'static str {
    match state {
        0 => "Installed",
        STATE_STARTING => "Starting",
        STATE_ACTIVE => "Active",
        STATE_STOPPING => "Stopping",
        STATE_STOPPED => "Stopped",
        STATE_FAILED => "Failed",
        _ => "Unknown",
    }
}

// ---------------------------------------------------------------------------
// Raw handlers: library-global, filled by every plugin_init, cleared by any
// plugin_shutdown (as in the framework).

type RawHandler = fn(&[u8]) -> Result<Vec<u8>, PluginError>;

static RAW_HANDLERS: Lazy<Mutex<HashMap<u32, RawHandler>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

fn register_raw_handlers() {
    let mut handlers = lock(&RAW_HANDLERS);
    handlers.insert(RAW_MSG_ECHO, raw_echo as RawHandler);
}

fn clear_raw_handlers() {
    lock(&RAW_HANDLERS).clear();
}

fn raw_echo(request: &[u8]) -> Result<Vec<u8>, PluginError> {
    let expected = mem::size_of::<RawEchoRequest>();
    if request.len() != expected {
        return Err(PluginError::new(
            ERR_SERIALIZATION,
            format!(
                "Invalid request size: expected {} bytes, got {}",
                expected,
                request.len()
            ),
        ));
    }
    // SAFETY: the size matches and every bit pattern is a valid request.
    let req: RawEchoRequest =
        unsafe { ptr::read_unaligned(request.as_ptr() as *const RawEchoRequest) };
    if req.version != 1 {
        return Err(PluginError::new(
            ERR_SERIALIZATION,
            format!("Unsupported version: expected 1, got {}", req.version),
        ));
    }
    let text_len = req.text.iter().position(|b| *b == 0).unwrap_or(req.text.len());
    let mut resp = RawEchoResponse {
        version: 1,
        _pad: [0; 3],
        value_times_two: req.value.wrapping_mul(2),
        text_len: text_len as u32,
        text: [0; 56],
    };
    resp.text[..text_len].copy_from_slice(&req.text[..text_len]);
    // SAFETY: RawEchoResponse is repr(C) plain data with explicit padding.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            &resp as *const RawEchoResponse as *const u8,
            mem::size_of::<RawEchoResponse>(),
        )
    };
    Ok(bytes.to_vec())
}

// ---------------------------------------------------------------------------
// The plugin's lifecycle hooks and JSON handlers

/// `on_start`: runs inside the handle's runtime during `plugin_init`.
async fn on_start(config: &PluginConfig) -> Result<(), PluginError> {
    let delay = config
        .data
        .get("startup_delay_ms")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    // Log from a runtime worker thread, not from the thread calling init.
    let started = tokio::spawn(async {
        log_at(LEVEL_INFO, TARGET_PLUGIN, "rust plugin started");
    });
    if let Err(e) = started.await {
        return Err(PluginError::new(
            ERR_INIT_FAILED,
            format!("start-up task failed: {}", e),
        ));
    }
    let fail = config
        .data
        .get("fail_init")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if fail {
        return Err(PluginError::new(
            ERR_INIT_FAILED,
            "initialization refused on purpose (data.fail_init)",
        ));
    }
    Ok(())
}

/// `on_stop`: runs inside the runtime during `plugin_shutdown`.
async fn on_stop() {
    let stopped = tokio::spawn(async {
        log_at(LEVEL_DEBUG, TARGET_PLUGIN, "rust plugin stopping");
    });
    let _ = stopped.await;
}

fn parse<'a, T: Deserialize<'a>>(request: &'a [u8]) -> Result<T, PluginError> {
    serde_json::from_slice(request).map_err(PluginError::serialization)
}

fn reply<T: Serialize>(value: &T) -> Result<Vec<u8>, PluginError> {
    serde_json::to_vec(value).map_err(PluginError::serialization)
}

#[derive(Deserialize)]
struct EchoRequest {
    message: String,
}

#[derive(Serialize)]
struct EchoResponse {
    message: String,
    length: usize,
}

#[derive(Deserialize)]
struct AddRequest {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct AddResponse {
    result: i64,
}

#[derive(Deserialize)]
struct SleepRequest {
    duration_ms: u64,
}

#[derive(Serialize)]
struct SleepResponse {
    slept_ms: u64,
}

fn default_emit_count() -> u32 {
    1
}
fn default_emit_message() -> String {
    "log.emit".to_string()
}

#[derive(Deserialize)]
struct EmitRequest {
    #[serde(default = "default_emit_count")]
    count: u32,
    #[serde(default = "default_log_level")]
    level: String,
    #[serde(default = "default_emit_message")]
    message: String,
    #[serde(default)]
    thread: bool,
}

#[derive(Serialize)]
struct EmitResponse {
    emitted: u32,
}

#[derive(Serialize)]
struct CallsResponse {
    calls: u64,
}

/// The handler: runs on the caller's thread inside `block_on`.
async fn handle_request(
    handle: &PluginHandle,
    type_tag: &str,
    request: &[u8],
) -> Result<Vec<u8>, PluginError> {
    match type_tag {
        "echo" => {
            let req: EchoRequest = parse(request)?;
            let length = req.message.len();
            reply(&EchoResponse {
                message: req.message,
                length,
            })
        }
        "math.add" => {
            let req: AddRequest = parse(request)?;
            match req.a.checked_add(req.b) {
                Some(result) => reply(&AddResponse { result }),
                None => Err(PluginError::new(ERR_HANDLER, "integer overflow in math.add")),
            }
        }
        "test.sleep" => {
            let req: SleepRequest = parse(request)?;
            tokio::time::sleep(Duration::from_millis(req.duration_ms)).await;
            reply(&SleepResponse {
                slept_ms: req.duration_ms,
            })
        }
        "log.emit" => {
            let req: EmitRequest = parse(request)?;
            let level = parse_level(&req.level);
            if req.thread {
                let mut tasks = Vec::with_capacity(req.count as usize);
                for i in 0..req.count {
                    let text = format!("{} {}", req.message, i);
                    tasks.push(tokio::spawn(async move {
                        log_at(level, TARGET_PLUGIN, &text);
                    }));
                }
                for task in tasks {
                    if let Err(e) = task.await {
                        return Err(PluginError::new(
                            ERR_HANDLER,
                            format!("log task failed: {}", e),
                        ));
                    }
                }
            } else {
                for i in 0..req.count {
                    log_at(level, TARGET_PLUGIN, &format!("{} {}", req.message, i));
                }
            }
            reply(&EmitResponse { emitted: req.count })
        }
        "panic" => panic!("simulated panic"),
        "handler.fail" => Err(PluginError::new(ERR_HANDLER, "handler failed on purpose")),
        "counter.calls" => reply(&CallsResponse {
            calls: handle.calls.load(Ordering::SeqCst),
        }),
        "factory.data" => reply(&serde_json::json!({ "data": handle.factory_data })),
        "payload.string" => reply(&"hello"),
        "payload.null" => reply(&()),
        "payload.array" => reply(&[1, 2, 3]),
        _ => Err(PluginError::new(
            ERR_UNKNOWN_MESSAGE,
            format!("unknown message type: {}", type_tag),
        )),
    }
}

// ---------------------------------------------------------------------------
// Implementation of the exports (each wrapped in catch_unwind by its export)

unsafe fn init_impl(
    plugin_ptr: *mut c_void,
    config_json: *const u8,
    config_len: usize,
    log_cb: Option<RbLogCallback>,
) -> *mut c_void {
    if plugin_ptr.is_null() {
        return ptr::null_mut();
    }
    // Library-global: every init replaces the callback.
    set_log_callback(log_cb);
    install_panic_hook();

    // Take ownership of the plugin object.
    let plugin: Box<Plugin> = Box::from_raw(plugin_ptr as *mut Plugin);

    let config_bytes: &[u8] = if !config_json.is_null() && config_len > 0 {
        std::slice::from_raw_parts(config_json, config_len)
    } else {
        &[]
    };
    let config: PluginConfig = if config_bytes.is_empty() {
        PluginConfig::default()
    } else {
        match serde_json::from_slice(config_bytes) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("Failed to parse config: {}", e);
                log_at(
                    LEVEL_ERROR,
                    TARGET_EXPORTS,
                    &format!("Failed to parse config: {}", e),
                );
                return ptr::null_mut();
            }
        }
    };
    LOG_LEVEL.store(parse_level(&config.log_level), Ordering::SeqCst);

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_time().thread_name("rustbridge-work");
    if let Some(n) = config.worker_threads {
        if n == 0 {
            log_at(
                LEVEL_ERROR,
                TARGET_HANDLE,
                "Failed to create handle: worker_threads must be at least 1",
            );
            return ptr::null_mut();
        }
        builder.worker_threads(n);
    }
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            log_at(
                LEVEL_ERROR,
                TARGET_HANDLE,
                &format!("Failed to create handle: runtime error: {}", e),
            );
            return ptr::null_mut();
        }
    };

    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let handle = Arc::new(PluginHandle {
        id,
        state: AtomicU8::new(STATE_STARTING),
        rt: runtime.handle().clone(),
        runtime: Mutex::new(None),
        in_flight: AtomicUsize::new(0),
        max_concurrent_ops: config.max_concurrent_ops,
        rejected: AtomicU64::new(0),
        calls: AtomicU64::new(0),
        shutdown_timeout_ms: config.shutdown_timeout_ms,
        shutting_down: AtomicBool::new(false),
        factory_data: plugin.factory_data,
    });

    let started = runtime.block_on(on_start(&config));
    if let Err(e) = started {
        handle.state.store(STATE_FAILED, Ordering::SeqCst);
        log_at(
            LEVEL_ERROR,
            TARGET_HANDLE,
            &format!("Plugin failed to start: {}", e.message),
        );
        runtime.shutdown_timeout(Duration::from_millis(config.shutdown_timeout_ms));
        return ptr::null_mut();
    }

    *lock(&handle.runtime) = Some(runtime);
    register_raw_handlers();
    handle.state.store(STATE_ACTIVE, Ordering::SeqCst);
    lock(&HANDLES).insert(id, handle);
    log_at(LEVEL_DEBUG, TARGET_HANDLE, "Plugin started successfully");
    id as usize as *mut c_void
}

unsafe fn call_impl(
    handle: &PluginHandle,
    type_tag: *const c_char,
    request: *const u8,
    request_len: usize,
) -> RbFfiBuffer {
    if type_tag.is_null() {
        return RbFfiBuffer::plain_error(ERR_CONFIG, "Type tag is null");
    }
    let type_tag = match CStr::from_ptr(type_tag).to_str() {
        Ok(s) => s,
        Err(_) => return RbFfiBuffer::plain_error(ERR_CONFIG, "Invalid type tag encoding"),
    };
    let request: &[u8] = if request.is_null() || request_len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(request, request_len)
    };

    let _in_flight = match handle.admit() {
        Ok(guard) => guard,
        Err(e) => return RbFfiBuffer::envelope_error(&e),
    };
    handle.calls.fetch_add(1, Ordering::SeqCst);

    match handle.rt.block_on(handle_request(handle, type_tag, request)) {
        Ok(payload) => match serde_json::from_slice::<&RawValue>(&payload) {
            Ok(raw) => {
                let envelope = SuccessEnvelope {
                    status: "success",
                    payload: raw,
                };
                match serde_json::to_vec(&envelope) {
                    Ok(bytes) => RbFfiBuffer::from_vec(bytes, 0),
                    Err(e) => RbFfiBuffer::plain_error(
                        ERR_SERIALIZATION,
                        &format!("Serialization error: {}", e),
                    ),
                }
            }
            Err(e) => RbFfiBuffer::plain_error(
                ERR_SERIALIZATION,
                &format!("Serialization error: {}", e),
            ),
        },
        Err(e) => RbFfiBuffer::envelope_error(&e),
    }
}

fn shutdown_impl(handle: Arc<PluginHandle>) -> bool {
    // Only one shutdown per handle; a second one (even concurrent) fails.
    if handle.shutting_down.swap(true, Ordering::SeqCst) {
        return false;
    }
    let previous = handle.state.swap(STATE_STOPPING, Ordering::SeqCst);
    log_at(
        LEVEL_DEBUG,
        TARGET_HANDLE,
        &format!("Shutting down plugin (was {})", state_name(previous)),
    );

    // Wait for in-flight calls (fixed 5 s, like the framework).
    let deadline = Instant::now() + SHUTDOWN_WAIT;
    while handle.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    if handle.in_flight.load(Ordering::SeqCst) > 0 {
        log_at(
            LEVEL_WARN,
            TARGET_HANDLE,
            "Plugin shutdown timed out waiting for in-flight calls",
        );
    }

    let runtime = lock(&handle.runtime).take();
    if let Some(runtime) = runtime {
        runtime.block_on(on_stop());
        runtime.shutdown_timeout(Duration::from_millis(handle.shutdown_timeout_ms));
    }
    handle.state.store(STATE_STOPPED, Ordering::SeqCst);
    log_at(LEVEL_DEBUG, TARGET_HANDLE, "Plugin shutdown complete");

    lock(&HANDLES).remove(&handle.id);
    // Library-global side effects of any shutdown (see doc/plugin-abi.md).
    set_log_callback(None);
    clear_raw_handlers();
    true
}

unsafe fn call_raw_impl(
    handle: &PluginHandle,
    message_id: u32,
    request: *const c_void,
    request_size: usize,
) -> RbResponse {
    let state = handle.state();
    if state != STATE_ACTIVE {
        return RbResponse::error(
            ERR_INVALID_STATE,
            &format!("Invalid state: expected Active, actual {}", state_name(state)),
        );
    }
    let handler = lock(&RAW_HANDLERS).get(&message_id).copied();
    let handler = match handler {
        Some(h) => h,
        None => {
            return RbResponse::error(
                ERR_UNKNOWN_MESSAGE,
                &format!("Unknown message ID: {}", message_id),
            )
        }
    };
    let request: &[u8] = if request.is_null() || request_size == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(request as *const u8, request_size)
    };
    match handler(request) {
        Ok(bytes) => RbResponse::from_bytes(&bytes, 0),
        Err(e) => RbResponse::error(e.code, &e.message),
    }
}

/// Reports a panic caught at the boundary and marks the handle failed.
fn caught_panic(handle: Option<&PluginHandle>, payload: &(dyn Any + Send)) -> String {
    let message = panic_message(payload);
    log_at(
        LEVEL_ERROR,
        TARGET_PANIC,
        &format!("FFI panic caught: {}", message),
    );
    if let Some(h) = handle {
        h.mark_failed();
    }
    message
}

// ---------------------------------------------------------------------------
// Exports

/// Allocates the plugin object; ownership passes to `plugin_init`.
#[no_mangle]
pub unsafe extern "C" fn plugin_create() -> *mut c_void {
    let result = panic::catch_unwind(|| {
        Box::into_raw(Box::new(Plugin {
            factory_data: serde_json::Value::Null,
        }))
    });
    match result {
        Ok(p) => p as *mut c_void,
        Err(_) => ptr::null_mut(),
    }
}

/// What the framework's entry macro emits for a factory: the factory
/// gets the parsed config (NULL or empty: the default one). A config that
/// does not parse, or a factory that fails (`data.create_fail` is true),
/// gives NULL.
#[no_mangle]
pub unsafe extern "C" fn plugin_create_with_config(
    config_json: *const u8,
    config_len: usize,
) -> *mut c_void {
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        let config: PluginConfig = if config_json.is_null() || config_len == 0 {
            PluginConfig::default()
        } else {
            match serde_json::from_slice(std::slice::from_raw_parts(config_json, config_len)) {
                Ok(c) => c,
                Err(_) => return ptr::null_mut(),
            }
        };
        if config.data.get("create_fail") == Some(&serde_json::Value::Bool(true)) {
            return ptr::null_mut();
        }
        Box::into_raw(Box::new(Plugin {
            factory_data: config.data,
        }))
    }));
    match result {
        Ok(p) => p as *mut c_void,
        Err(_) => ptr::null_mut(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn plugin_init(
    plugin: *mut c_void,
    config_json: *const u8,
    config_len: usize,
    log_cb: Option<RbLogCallback>,
) -> *mut c_void {
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        init_impl(plugin, config_json, config_len, log_cb)
    }));
    match result {
        Ok(h) => h,
        Err(payload) => {
            caught_panic(None, &*payload);
            ptr::null_mut()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn plugin_call(
    handle: *mut c_void,
    type_tag: *const c_char,
    request: *const u8,
    request_len: usize,
) -> RbFfiBuffer {
    let plugin_handle = match lookup(handle) {
        Some(h) => h,
        None => return RbFfiBuffer::plain_error(ERR_INVALID_STATE, "Invalid handle"),
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        call_impl(&plugin_handle, type_tag, request, request_len)
    }));
    match result {
        Ok(buffer) => buffer,
        Err(payload) => {
            let message = caught_panic(Some(&plugin_handle), &*payload);
            RbFfiBuffer::plain_error(ERR_INTERNAL, &message)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn plugin_free_buffer(buffer: *mut RbFfiBuffer) {
    if buffer.is_null() {
        return;
    }
    let buf = &mut *buffer;
    if !buf.data.is_null() {
        drop(Vec::from_raw_parts(buf.data, buf.len, buf.capacity));
    }
    buf.data = ptr::null_mut();
    buf.len = 0;
    buf.capacity = 0;
}

#[no_mangle]
pub unsafe extern "C" fn plugin_shutdown(handle: *mut c_void) -> bool {
    let plugin_handle = match lookup(handle) {
        Some(h) => h,
        None => return false,
    };
    match panic::catch_unwind(AssertUnwindSafe(|| shutdown_impl(plugin_handle))) {
        Ok(ok) => ok,
        Err(payload) => {
            caught_panic(None, &*payload);
            false
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn plugin_get_state(handle: *mut c_void) -> u8 {
    match lookup(handle) {
        Some(h) => h.state(),
        None => STATE_UNKNOWN,
    }
}

/// Library-global: changes the level for every handle of this library.
#[no_mangle]
pub unsafe extern "C" fn plugin_set_log_level(handle: *mut c_void, level: u8) {
    if lookup(handle).is_some() {
        LOG_LEVEL.store(level.min(LEVEL_OFF), Ordering::SeqCst);
    }
}

#[no_mangle]
pub unsafe extern "C" fn plugin_get_rejected_count(handle: *mut c_void) -> u64 {
    match lookup(handle) {
        Some(h) => h.rejected.load(Ordering::SeqCst),
        None => 0,
    }
}

/// Binary transport; not subject to `max_concurrent_ops`.
#[no_mangle]
pub unsafe extern "C" fn plugin_call_raw(
    handle: *mut c_void,
    message_id: u32,
    request: *const c_void,
    request_size: usize,
) -> RbResponse {
    let plugin_handle = match lookup(handle) {
        Some(h) => h,
        None => return RbResponse::error(ERR_INVALID_STATE, "Invalid handle"),
    };
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        call_raw_impl(&plugin_handle, message_id, request, request_size)
    }));
    match result {
        Ok(resp) => resp,
        Err(payload) => {
            let message = caught_panic(Some(&plugin_handle), &*payload);
            RbResponse::error(ERR_INTERNAL, &message)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn rb_response_free(resp: *mut RbResponse) {
    if resp.is_null() {
        return;
    }
    let r = &mut *resp;
    if !r.data.is_null() && r.capacity > 0 {
        if let Ok(layout) = Layout::from_size_align(r.capacity as usize, RAW_ALIGN) {
            alloc::dealloc(r.data as *mut u8, layout);
        }
    }
    r.data = ptr::null_mut();
    r.len = 0;
    r.capacity = 0;
}

/// Completion callback of the reserved async API.
pub type RbCompletionCallback =
    unsafe extern "C" fn(*mut c_void, u64, *const u8, usize, u32);

/// Reserved: not implemented by the framework (returns 0).
#[no_mangle]
pub unsafe extern "C" fn plugin_call_async(
    _handle: *mut c_void,
    _type_tag: *const c_char,
    _request: *const u8,
    _request_len: usize,
    _callback: Option<RbCompletionCallback>,
    _context: *mut c_void,
) -> u64 {
    0
}

/// Reserved: not implemented by the framework (returns false).
#[no_mangle]
pub unsafe extern "C" fn plugin_cancel_async(_handle: *mut c_void, _request_id: u64) -> bool {
    false
}
