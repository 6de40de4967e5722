//! What the person at the terminal sees: the session's prompts and notices, rendered.
//! Everything goes to stderr, so `$(termauth token)` captures only the token. The words
//! are the session's (`termauth_core::texts`); this only draws them.

use std::io::{IsTerminal, Write};
use termauth_core::UserCodePrompt;
use termauth_core::session::{NoticeLevel, Progress};
use termauth_core::texts::{Prompt, minutes_seconds};

/// The terminal front end: rich (QR code, spinner) on a terminal, plain lines otherwise.
pub trait Ui {
    /// The device code and where to enter it (`text` is what to print).
    fn show_user_code(&mut self, prompt: &UserCodePrompt, text: &Prompt);
    /// The authorization URL of a browser login.
    fn show_authorization_url(&mut self, url: &str, text: &Prompt);
    /// Called while waiting (at most every 100 ms).
    fn progress(&mut self, now_ms: u64, progress: &Progress);
    /// A notice.
    fn notice(&mut self, level: NoticeLevel, text: &str);
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

    fn print(&mut self, text: &Prompt) {
        self.clear();
        let mut e = std::io::stderr().lock();
        for line in &text.lines {
            let _ = writeln!(e, "{line}");
        }
        if let (true, Some(qr)) = (self.rich, &text.qr)
            && let Some(lines) = qr_lines(&qr.data)
        {
            let _ = writeln!(e, "{}", qr.caption);
            for l in lines {
                let _ = writeln!(e, "  {l}");
            }
        }
        for line in &text.after {
            let _ = writeln!(e, "{line}");
        }
    }
}

/// Renders `data` as a QR code with Unicode half blocks (two modules per character row).
pub fn qr_lines(data: &str) -> Option<Vec<String>> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let dark = |x: i64, y: i64| -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < width
            && colors[y as usize * width + x as usize] == qrcode::Color::Dark
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

impl Ui for Terminal {
    fn show_user_code(&mut self, _: &UserCodePrompt, text: &Prompt) {
        self.print(text);
    }

    fn show_authorization_url(&mut self, _: &str, text: &Prompt) {
        self.print(text);
    }

    fn progress(&mut self, now_ms: u64, progress: &Progress) {
        if !self.rich {
            return;
        }
        const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        self.frame = (self.frame + 1) % FRAMES.len();
        self.spinning = true;
        let line = progress.text.replace("{left}", &minutes_seconds(progress.until_ms.saturating_sub(now_ms)));
        let _ = write!(std::io::stderr(), "\r{} {line} ", FRAMES[self.frame]);
    }

    fn notice(&mut self, level: NoticeLevel, text: &str) {
        self.clear();
        let _ = match level {
            NoticeLevel::Info => writeln!(std::io::stderr(), "{text}"),
            NoticeLevel::Warning => writeln!(std::io::stderr(), "warning: {text}"),
        };
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
    fn show_user_code(&mut self, _: &UserCodePrompt, _: &Prompt) {}
    fn show_authorization_url(&mut self, _: &str, _: &Prompt) {}
    fn progress(&mut self, _: u64, _: &Progress) {}
    fn notice(&mut self, _: NoticeLevel, _: &str) {}
    fn clear(&mut self) {}
}
