package termauth

// The terminal and the desktop: the session's prompts, progress and notices drawn on
// Stderr (the words are the core's; this file only draws them), a browser opened,
// lines pasted on Stdin, Ctrl-C.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// traceAction sees every action the executor does (a seam for the tests).
var traceAction = func(*action) {}

// terminal renders on w: rich (QR code, spinner) when w is a terminal and TERM is not
// dumb; plain lines otherwise. (termauth prints no colour, so NO_COLOR leaves the QR code
// and the countdown on.) What fits, what is cut and what is erased after a wait are the
// core's decisions (termauth_layout_json, termauth_progress_frame, termauth_end_of_wait);
// this asks the terminal its size and writes what they return.
type terminal struct {
	w         io.Writer
	fd        int // the terminal's descriptor when rich
	rich      bool
	spinning  bool
	eraseRows int // rows to erase when the wait is over (the QR code)
}

func newTerminal(w io.Writer) *terminal {
	f, ok := w.(*os.File)
	rich := ok && isTerminal(f) && os.Getenv("TERM") != "dumb"
	t := &terminal{w: w, rich: rich}
	if rich {
		t.fd = int(f.Fd())
	}
	return t
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

// screen is the terminal as the core's texts take it: {"columns","rows","rich"}.
func (t *terminal) screen() []byte {
	columns, rows := 0, 0
	if t.rich {
		if c, r, err := term.GetSize(t.fd); err == nil {
			columns, rows = c, r
		}
	}
	return []byte(fmt.Sprintf(`{"columns":%d,"rows":%d,"rich":%t}`, max(columns, 0), max(rows, 0), t.rich))
}

func (t *terminal) prompt(text json.RawMessage) {
	t.clear() // a previous prompt's QR code too
	lines, eraseRows := layoutPrompt(text, t.screen())
	if lines == nil {
		// The code must be shown whatever happens: the prompt's own lines, plainly.
		var p struct{ Lines, After []string }
		_ = json.Unmarshal(text, &p)
		lines = append(p.Lines, p.After...)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	io.WriteString(t.w, b.String())
	t.eraseRows = eraseRows
}

func (t *terminal) notice(level string, text json.RawMessage) {
	var s string
	if json.Unmarshal(text, &s) != nil {
		return
	}
	// After the wait (where the credential went) or, with Debug, between polls: the QR code
	// goes first either way, as erasing it later would take this line too.
	t.clear()
	if level == "warning" {
		s = "warning: " + s
	}
	fmt.Fprintln(t.w, s)
}

// wait sleeps until atMs (or until stop is closed), redrawing p's line when rich.
func (t *terminal) wait(atMs int64, p json.RawMessage, stop <-chan struct{}) {
	timer := time.NewTimer(time.Until(time.UnixMilli(atMs)))
	defer timer.Stop()
	var tick <-chan time.Time
	if t.rich && len(p) > 0 && string(p) != "null" {
		ticker := time.NewTicker(100 * time.Millisecond)
		defer ticker.Stop()
		tick = ticker.C
		t.spin(p)
	}
	for {
		select {
		case <-timer.C:
			return
		case <-stop:
			return
		case <-tick:
			t.spin(p)
		}
	}
}

func (t *terminal) spin(p json.RawMessage) {
	t.spinning = true
	io.WriteString(t.w, progressFrame(p, nowMs(), t.screen()))
}

// clear ends a wait: the progress line and the QR code are erased.
func (t *terminal) clear() {
	io.WriteString(t.w, endOfWait(t.spinning, t.eraseRows))
	t.spinning, t.eraseRows = false, 0
}

// show renders a prompt of the session, or hands it to the Config's hook.
func (x *executor) show(a *action) {
	switch cfg := &x.c.cfg; {
	case a.Type == "show_user_code" && cfg.ShowUserCode != nil:
		cfg.ShowUserCode(a.UserCode)
	case a.Type == "show_authorization_url" && cfg.ShowAuthorizationURL != nil:
		cfg.ShowAuthorizationURL(a.URL)
	default:
		x.ui.prompt(a.Text)
	}
}

// launch opens url with the Config's hook, else openBrowser.
func (x *executor) launch(url string) bool {
	if x.c.cfg.OpenBrowser != nil {
		return x.c.cfg.OpenBrowser(url)
	}
	return openBrowser(url)
}

// openBrowser starts a browser on url: $BROWSER (a ':'-separated list of commands; %s is
// replaced by the URL, else it is appended), else the platform's opener. Whether one started.
func openBrowser(url string) bool {
	start := func(name string, args ...string) bool {
		cmd := exec.Command(name, args...)
		if cmd.Start() != nil {
			return false
		}
		go func() { _ = cmd.Wait() }()
		return true
	}
	if list, ok := os.LookupEnv("BROWSER"); ok {
		for _, entry := range strings.Split(list, ":") {
			words := strings.Fields(entry)
			if len(words) == 0 {
				continue
			}
			replaced := false
			for i, w := range words {
				if strings.Contains(w, "%s") {
					words[i], replaced = strings.ReplaceAll(w, "%s", url), true
				}
			}
			if !replaced {
				words = append(words, url)
			}
			if start(words[0], words[1:]...) {
				return true
			}
		}
		return false
	}
	switch runtime.GOOS {
	case "darwin":
		return start("open", url)
	case "windows":
		return start("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		return start("xdg-open", url)
	}
}

// line is a line pasted on Stdin (trimmed), or its end.
type line struct {
	text string
	eof  bool
}

// lines reads a reader's lines in the background, once per Client, for Paste.
type lines struct {
	once sync.Once
	ch   chan line
}

func (l *lines) get(r io.Reader) <-chan line {
	l.once.Do(func() {
		l.ch = make(chan line)
		go func() {
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				l.ch <- line{text: strings.TrimSpace(sc.Text())}
			}
			for {
				l.ch <- line{eof: true}
			}
		}()
	})
	return l.ch
}

// interrupts cancels run on the first Ctrl-C and exits with 130 on the second, until stop.
func (c *Client) interrupts(cancel func()) (stop func()) {
	if c.cfg.NoSignalHandling {
		return func() {}
	}
	ch, done := make(chan os.Signal, 2), make(chan struct{})
	signal.Notify(ch, os.Interrupt)
	go func() {
		for n := 0; ; n++ {
			select {
			case <-ch:
				if n > 0 {
					os.Exit(130)
				}
				cancel()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { signal.Stop(ch); close(done) }) }
}
