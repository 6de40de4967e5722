//! # libtermauth — the C ABI of termauth
//!
//! Three levels over one core, one file per topic:
//!
//! * **The session** (`session.rs`, `termauth_session_*`): a whole command — login (with
//!   `auto` and the fallbacks), get a token under the cross-process lock, refresh, logout,
//!   status, profiles — as the core's sans-IO machine. The host does HTTP, the loopback
//!   listener, the browser and the terminal; `termauth_session_advance_json` performs the
//!   storage primitives with the Rust executor (`storage.rs`), so files, locks and keyring
//!   entries are the same in every language. The Go package is such a host.
//! * **The flows** (`flows.rs`, `termauth_flow_*`): one protocol exchange each, for hosts
//!   that run one themselves, and for the flow vectors.
//! * **Batteries included** (`client.rs`, `termauth_client_*`): the same commands over the
//!   Rust executor (ureq, loopback listener, keyring and file stores, prompts on stderr).
//!
//! Also: errors and status codes (`errors.rs`), the boundary's rules (`boundary.rs`), JSON
//! helpers for C (`json.rs`).
//!
//! ## Rules of the ABI (read once, they hold for every function)
//!
//! * Handles are opaque, made by `*_new`, released by `*_free` (NULL is accepted and ignored).
//! * Every fallible function returns [`termauth_status`]: `TERMAUTH_STATUS_OK` (0) or an
//!   error status from 7001 up. Out-parameters are written **only** on success. When `err`
//!   is not NULL, a failure also stores a new [`termauth_error`] in `*err`, which the caller
//!   frees with `termauth_error_free`. There is no thread-local "last error".
//! * Strings in are `(const uint8_t *ptr, size_t len)` and must be UTF-8 (checked: invalid
//!   UTF-8 gives `TERMAUTH_STATUS_INVALID_UTF8`). `ptr` may be NULL only when `len` is 0.
//!   Inputs are copied before the call returns.
//! * Owned strings out are NUL-terminated `char *` released with `termauth_string_free`
//!   (never `free()`); it wipes them first, as they may hold tokens.
//! * Borrowed strings out are [`termauth_str`] views (NUL-terminated, `len` excludes the
//!   NUL; `data` is NULL when the value is absent). A view into a flow or a session is valid
//!   until the next `poll`, `handle_*`, `advance` or `free` of it (and then wiped); a view
//!   into an error until the error is freed.
//! * No Rust panic crosses the boundary: every export catches it and returns
//!   `TERMAUTH_STATUS_PANIC` (the workspace keeps `panic = "unwind"` for this).
//! * Handles are not synchronised: use one from one thread at a time.
//!   `termauth_client_cancel` is the exception: it may be called from any thread while a
//!   command runs.
#![allow(non_camel_case_types)]
// The safety contract is the one above, common to every export (and in the header).
#![allow(clippy::missing_safety_doc)]

// In the order the header lists them (cbindgen follows the module order).
mod boundary;
mod errors;
// The session and its storage primitives.
mod session;
mod storage;
// One exchange at a time.
mod flows;
// Batteries included (the `client` feature: ureq, rustls; the Go package's library has none).
#[cfg(feature = "client")]
mod client;
// For C hosts without a JSON parser.
mod json;

pub use boundary::{termauth_str, termauth_string_free};
#[cfg(feature = "client")]
pub use client::*;
pub use errors::*;
pub use flows::*;
pub use json::*;
pub use session::*;
pub use storage::*;

use std::ffi::c_char;

/// The ABI version. It changes when a function's signature or meaning changes; a host
/// checks `termauth_abi_version() == TERMAUTH_ABI_VERSION` at load.
pub const TERMAUTH_ABI_VERSION: u32 = 2;

/// The ABI version of this library (compare with `TERMAUTH_ABI_VERSION`).
#[unsafe(no_mangle)]
pub extern "C" fn termauth_abi_version() -> u32 {
    TERMAUTH_ABI_VERSION
}

/// The library version (`"0.1.0"`), a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn termauth_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
