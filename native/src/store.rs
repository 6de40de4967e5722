//! The store, as a Rust program sees it: the rules are the core's
//! ([`termauth_core::store`]: paths, formats, the lock), re-exported here; the IO is
//! [`crate::storage`]'s.

pub use crate::storage::write_atomic;
pub use termauth_core::store::*;

/// The config directory of `app` in this process's environment (`<APP>_CONFIG_DIR`, else
/// the platform's).
///
/// # Errors
/// `no_config_dir`.
pub fn app_config_dir(app: &str) -> Result<std::path::PathBuf, termauth_core::Error> {
    config_dir(&crate::environment::snapshot(app), app).map(std::path::PathBuf::from)
}
