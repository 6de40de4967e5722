//! The storage primitives of a session — read, write atomically, remove and list files,
//! create a lock file exclusively, ask whether a process lives, keyring get/set/delete —
//! done by the Rust executor (`termauth::storage`), so no other language writes files,
//! locks or keyring entries of its own. `termauth_session_advance_json` runs them without
//! a round trip through JSON; [`termauth_storage_execute_json`] is the same for a host
//! that polls the session itself.

use crate::boundary::{R, boundary, check_out, json_string, owned, parse_json, put, str_in, usage};
use crate::errors::{termauth_error, termauth_status};
use serde::Deserialize;
use std::ffi::c_char;
use termauth_core::Secret;
use termauth_core::session::{Action, Input};

/// The storage actions as the session writes them (`Action` is an output type of the
/// core: it serializes but has no reader, so the boundary reads the nine shapes it
/// accepts here).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum StorageAction {
    ReadFile { id: u64, path: String },
    WriteFile { id: u64, path: String, contents: Secret },
    RemoveFile { id: u64, path: String },
    ListDir { id: u64, path: String },
    CreateExclusive { id: u64, path: String, contents: String },
    ProcessAlive { id: u64, pid: u32 },
    KeyringGet { id: u64, service: String, account: String },
    KeyringSet { id: u64, service: String, account: String, value: Secret },
    KeyringDelete { id: u64, service: String, account: String },
}

impl From<StorageAction> for Action {
    fn from(a: StorageAction) -> Action {
        match a {
            StorageAction::ReadFile { id, path } => Action::ReadFile { id, path },
            StorageAction::WriteFile { id, path, contents } => Action::WriteFile { id, path, contents },
            StorageAction::RemoveFile { id, path } => Action::RemoveFile { id, path },
            StorageAction::ListDir { id, path } => Action::ListDir { id, path },
            StorageAction::CreateExclusive { id, path, contents } => Action::CreateExclusive { id, path, contents },
            StorageAction::ProcessAlive { id, pid } => Action::ProcessAlive { id, pid },
            StorageAction::KeyringGet { id, service, account } => Action::KeyringGet { id, service, account },
            StorageAction::KeyringSet { id, service, account, value } => Action::KeyringSet { id, service, account, value },
            StorageAction::KeyringDelete { id, service, account } => Action::KeyringDelete { id, service, account },
        }
    }
}

/// Performs `action` when it is a storage primitive; the session's answer.
pub(crate) fn execute(action: &Action) -> Option<Input> {
    termauth::storage::execute(action)
}

fn execute_json(text: &str) -> R<String> {
    let action: StorageAction = parse_json(
        text,
        "not_storage",
        "The action JSON (one of read_file, write_file, make_private, remove_file, list_dir, create_exclusive, process_alive, keyring_get, keyring_set, keyring_delete)",
    )?;
    let answer = execute(&action.into()).ok_or_else(|| usage("internal_error", "A storage action was not executed."))?;
    json_string(&answer)
}

/// Performs a storage action of a session (`action_json`: the action exactly as
/// `termauth_session_poll_json` gave it) and writes the input to hand back with
/// `termauth_session_handle_json` to `*out` (an owned string: it may hold a credential
/// record, so free it with `termauth_string_free`, which wipes it). An OS or keyring
/// failure is an `io_error` input, not a failed call; any other action is a `USAGE` error
/// (`not_storage`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn termauth_storage_execute_json(
    action_json: *const u8,
    action_len: usize,
    out: *mut *mut c_char,
    err: *mut *mut termauth_error,
) -> termauth_status {
    boundary(err, || {
        check_out(out, "out")?;
        let answer = execute_json(unsafe { str_in(action_json, action_len, "action_json") }?)?;
        unsafe { put(out, owned(&answer)?) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_storage_shape_and_refuses_the_rest() {
        let dir = std::env::temp_dir().join(format!("termauth-ffi-storage-{}", std::process::id()));
        let p = dir.join("x.json").to_string_lossy().replace('\\', "\\\\");
        let write = format!(r#"{{"type":"write_file","id":1,"path":"{p}","contents":"{{}}"}}"#);
        assert_eq!(execute_json(&write).ok().as_deref(), Some(r#"{"type":"completed","id":1}"#));
        let read = format!(r#"{{"type":"read_file","id":2,"path":"{p}"}}"#);
        assert!(execute_json(&read).unwrap().contains(r#""contents":"{}""#));
        let remove = format!(r#"{{"type":"remove_file","id":3,"path":"{p}"}}"#);
        assert_eq!(execute_json(&remove).ok().as_deref(), Some(r#"{"type":"removed","id":3,"existed":true}"#));
        let _ = std::fs::remove_dir_all(&dir);
        for refused in [
            r#"{"type":"send_request","id":1}"#,
            r#"{"type":"read_file","id":1}"#,
            r#"{"type":"read_file","id":1,"path":"/x","extra":true}"#,
            r#"{"type":"keyring_set","id":1,"service":"s","account":"a","value":7}"#,
            "[",
        ] {
            let e = execute_json(refused).expect_err(refused);
            assert_eq!(e.error.code, "not_storage");
            assert!(!e.error.message.contains("/x"));
        }
    }
}
