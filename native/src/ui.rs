//! What the person at the terminal sees: the session's prompts and notices, rendered.
//! Everything goes to stderr, so `$(termauth token)` captures only the token. The words
//! are the session's (`termauth_core::texts`); this only draws them.

use std::io::{IsTerminal, Write};
use termauth_core::UserCodePrompt;
use termauth_core::session::{NoticeLevel, Progress};
use termauth_core::texts::{Layout, Prompt, Screen, end_of_wait, layout, progress_frame};

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
    spinning: bool,
    /// Rows to erase when the wait is over (the QR code).
    erase_rows: u32,
}

impl Terminal {
    /// Rich output when stderr is a terminal and `TERM` is not `dumb`. (termauth prints no
    /// colour, so `NO_COLOR` leaves the QR code and the countdown on.)
    pub fn detect() -> Self {
        let rich = std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Terminal { rich, spinning: false, erase_rows: 0 }
    }

    /// Plain line output.
    pub fn plain() -> Self {
        Terminal { rich: false, spinning: false, erase_rows: 0 }
    }

    fn screen(&self) -> Screen {
        let size = if self.rich { terminal_size::terminal_size_of(std::io::stderr()) } else { None };
        let (columns, rows) = size.map_or((0, 0), |(w, h)| (u32::from(w.0), u32::from(h.0)));
        Screen { columns, rows, rich: self.rich }
    }

    fn print(&mut self, text: &Prompt) {
        self.clear(); // a previous prompt's QR code too
        let layout = render_prompt(text, self.screen());
        let mut e = std::io::stderr().lock();
        for line in &layout.lines {
            let _ = writeln!(e, "{line}");
        }
        self.erase_rows = layout.erase_rows;
    }
}

/// `text` laid out for `screen` ([`termauth_core::texts::layout`]), its QR code drawn by
/// [`qr_lines`] when it has one and the screen is rich.
pub fn render_prompt(text: &Prompt, screen: Screen) -> Layout {
    let qr = if screen.rich { text.qr.as_ref().and_then(|qr| qr_lines(&qr.data)) } else { None };
    layout(text, qr.as_deref(), screen)
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
        self.spinning = true;
        let _ = write!(std::io::stderr(), "{}", progress_frame(progress, now_ms, self.screen()));
    }

    fn notice(&mut self, level: NoticeLevel, text: &str) {
        // A notice comes after the wait (where the credential went) or, with `-v`, between
        // polls: either way the QR code goes first, as erasing it later would take this line.
        self.clear();
        let _ = match level {
            NoticeLevel::Info => writeln!(std::io::stderr(), "{text}"),
            NoticeLevel::Warning => writeln!(std::io::stderr(), "warning: {text}"),
        };
    }

    fn clear(&mut self) {
        let _ = write!(std::io::stderr(), "{}", end_of_wait(self.spinning, self.erase_rows));
        self.spinning = false;
        self.erase_rows = 0;
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
