//! What every command's executor shares: the wall clock, cancellation (Ctrl-C), and the
//! lines a user pastes on standard input.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Wall-clock Unix milliseconds (the drivers own the clock; the core never reads it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Set when the user pressed Ctrl-C (or the host asked to stop).
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A fresh flag.
    pub fn new() -> Self {
        CancelFlag::default()
    }
    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    /// Clears a cancellation that has been handled.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The process-wide flag set by [`install_ctrlc_handler`].
pub fn ctrlc_flag() -> &'static CancelFlag {
    static FLAG: OnceLock<CancelFlag> = OnceLock::new();
    FLAG.get_or_init(CancelFlag::new)
}

/// Installs a Ctrl-C handler: the first press cancels the running command cleanly (the
/// session gets `cancel`; stores are only ever written atomically), a second exits with 130.
pub fn install_ctrlc_handler() {
    let _ = ctrlc::set_handler(|| {
        let flag = ctrlc_flag();
        if flag.is_cancelled() {
            std::process::exit(130);
        }
        flag.cancel();
    });
}

/// What the user pasted.
#[derive(Debug)]
pub enum Pasted {
    /// A non-empty line, trimmed.
    Line(String),
    /// Standard input ended.
    Closed,
    /// Nothing yet (the deadline, a cancel, or a blank line).
    Nothing,
}

fn stdin_lines() -> &'static Mutex<mpsc::Receiver<Option<String>>> {
    static RX: OnceLock<Mutex<mpsc::Receiver<Option<String>>>> = OnceLock::new();
    RX.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            loop {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(None);
                        break;
                    }
                    Ok(_) => {
                        if tx.send(Some(line)).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Mutex::new(rx)
    })
}

/// Waits up to 200 ms (never past `until_ms`) for a line pasted on standard input.
pub fn read_pasted_line(until_ms: u64, cancel: &CancelFlag) -> Pasted {
    if cancel.is_cancelled() {
        return Pasted::Nothing;
    }
    let wait = Duration::from_millis(until_ms.saturating_sub(now_ms()).min(200));
    let Ok(lines) = stdin_lines().lock() else { return Pasted::Closed };
    match lines.recv_timeout(wait) {
        Ok(Some(line)) if line.trim().is_empty() => Pasted::Nothing,
        Ok(Some(line)) => Pasted::Line(line.trim().to_string()),
        Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => Pasted::Closed,
        Err(mpsc::RecvTimeoutError::Timeout) => Pasted::Nothing,
    }
}
