//! What the person at the terminal sees. Everything goes to stderr, so
//! `$(termauth token)` captures only the token.

use std::io::{IsTerminal, Write};
use termauth_core::UserCodePrompt;

/// The terminal front end: rich (QR code, spinner) on a terminal, plain lines otherwise.
pub trait Ui {
    /// Show the device code and where to enter it.
    fn show_user_code(&mut self, prompt: &UserCodePrompt, browser_opened: bool);
    /// Tell the user a browser is (or should be) opened at `url`.
    fn show_browser(&mut self, url: &str, opened: bool, paste: bool);
    /// Called while waiting (at most every 100 ms): `until_ms` is the deadline.
    fn tick(&mut self, now_ms: u64, until_ms: u64);
    /// A line of information.
    fn info(&mut self, line: &str);
    /// A warning.
    fn warn(&mut self, line: &str);
    /// Waiting is over.
    fn clear(&mut self);
}

/// The standard terminal UI.
#[derive(Debug)]
pub struct Terminal {
    rich: bool,
    frame: usize,
    spinning: bool,
}

impl Terminal {
    /// Rich output when stderr is a terminal, `NO_COLOR` is unset and `TERM` is not `dumb`.
    pub fn detect() -> Self {
        let rich = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Terminal { rich, frame: 0, spinning: false }
    }

    /// Plain line output.
    pub fn plain() -> Self {
        Terminal { rich: false, frame: 0, spinning: false }
    }
}

/// Renders `data` as a QR code with Unicode half blocks (two modules per character row).
pub fn qr_lines(data: &str) -> Option<Vec<String>> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let dark = |x: i64, y: i64| -> bool {
        x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < width && colors[y as usize * width + x as usize] == qrcode::Color::Dark
    };
    let quiet = 2i64;
    let mut lines = Vec::new();
    let mut y = -quiet;
    while y < width as i64 + quiet {
        let mut line = String::new();
        for x in -quiet..width as i64 + quiet {
            // Light background, dark modules: draw the *light* parts so it scans on dark terminals too.
            line.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => ' ',
                (true, false) => '▄',
                (false, true) => '▀',
                (false, false) => '█',
            });
        }
        lines.push(line);
        y += 2;
    }
    Some(lines)
}

fn mmss(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

impl Ui for Terminal {
    fn show_user_code(&mut self, p: &UserCodePrompt, browser_opened: bool) {
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "To log in, open {} and enter the code: {}", p.verification_uri, p.user_code);
        if let Some(complete) = &p.verification_uri_complete {
            let _ = writeln!(e, "Or open this link, which includes the code: {complete}");
            if self.rich {
                if let Some(lines) = qr_lines(complete) {
                    let _ = writeln!(e, "Or scan this QR code with your phone:");
                    for l in lines {
                        let _ = writeln!(e, "  {l}");
                    }
                }
            }
        }
        if browser_opened {
            let _ = writeln!(e, "(A browser window was opened for you.)");
        }
    }

    fn show_browser(&mut self, url: &str, opened: bool, paste: bool) {
        let mut e = std::io::stderr().lock();
        if opened {
            let _ = writeln!(e, "Opening your browser to log in. If it did not open, visit:\n  {url}");
        } else {
            let _ = writeln!(e, "Open this URL in a browser to log in:\n  {url}");
        }
        if paste {
            let _ = writeln!(e, "After approving, the browser goes to an address that may fail to load; copy that whole address and paste it here, then press Enter:");
        }
    }

    fn tick(&mut self, now_ms: u64, until_ms: u64) {
        if !self.rich {
            return;
        }
        const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        self.frame = (self.frame + 1) % FRAMES.len();
        self.spinning = true;
        let _ = write!(
            std::io::stderr(),
            "\r{} Waiting for approval… {} left (Ctrl-C to cancel) ",
            FRAMES[self.frame],
            mmss(until_ms.saturating_sub(now_ms))
        );
    }

    fn info(&mut self, line: &str) {
        self.clear();
        let _ = writeln!(std::io::stderr(), "{line}");
    }

    fn warn(&mut self, line: &str) {
        self.clear();
        let _ = writeln!(std::io::stderr(), "warning: {line}");
    }

    fn clear(&mut self) {
        if self.spinning {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.spinning = false;
        }
    }
}

/// A UI that shows nothing (library use without a terminal).
#[derive(Debug, Default)]
pub struct Silent;

impl Ui for Silent {
    fn show_user_code(&mut self, _: &UserCodePrompt, _: bool) {}
    fn show_browser(&mut self, _: &str, _: bool, _: bool) {}
    fn tick(&mut self, _: u64, _: u64) {}
    fn info(&mut self, _: &str) {}
    fn warn(&mut self, _: &str) {}
    fn clear(&mut self) {}
}
