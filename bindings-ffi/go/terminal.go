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
)

// traceAction sees every action the executor does (a seam for the tests).
var traceAction = func(*action) {}

// prompt is what the session asks to print: lines, an optional QR code, lines after it.
type prompt struct {
	Lines []string `json:"lines"`
	QR    *struct {
		Caption string `json:"caption"`
		Data    string `json:"data"`
	} `json:"qr"`
	After []string `json:"after"`
}

// progress is a line to show while waiting: {left} becomes the time left as m:ss.
type progress struct {
	Text    string `json:"text"`
	UntilMs int64  `json:"until_ms"`
}

// terminal renders on w: rich (QR code, spinner) when w is a terminal, NO_COLOR is unset
// and TERM is not dumb; plain lines otherwise.
type terminal struct {
	w        io.Writer
	rich     bool
	spinning bool
	frame    int
}

func newTerminal(w io.Writer) *terminal {
	f, ok := w.(*os.File)
	rich := ok && isTerminal(f) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
	return &terminal{w: w, rich: rich}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

func (t *terminal) prompt(text json.RawMessage) {
	var p prompt
	if json.Unmarshal(text, &p) != nil {
		return
	}
	t.clear()
	for _, l := range p.Lines {
		fmt.Fprintln(t.w, l)
	}
	if t.rich && p.QR != nil {
		if lines := qrLines(p.QR.Data); lines != nil {
			fmt.Fprintln(t.w, p.QR.Caption)
			for _, l := range lines {
				fmt.Fprintln(t.w, "  "+l)
			}
		}
	}
	for _, l := range p.After {
		fmt.Fprintln(t.w, l)
	}
}

func (t *terminal) notice(level string, text json.RawMessage) {
	var s string
	if json.Unmarshal(text, &s) != nil {
		return
	}
	t.clear()
	if level == "warning" {
		s = "warning: " + s
	}
	fmt.Fprintln(t.w, s)
}

// wait sleeps until atMs (or until stop is closed), drawing p as a spinner when rich.
func (t *terminal) wait(atMs int64, p *progress, stop <-chan struct{}) {
	timer := time.NewTimer(time.Until(time.UnixMilli(atMs)))
	defer timer.Stop()
	var tick <-chan time.Time
	if t.rich && p != nil {
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

var frames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (t *terminal) spin(p *progress) {
	left := max(p.UntilMs-nowMs(), 0) / 1000
	line := strings.ReplaceAll(p.Text, "{left}", fmt.Sprintf("%d:%02d", left/60, left%60))
	t.frame = (t.frame + 1) % len(frames)
	t.spinning = true
	fmt.Fprintf(t.w, "\r%s %s ", frames[t.frame], line)
}

func (t *terminal) clear() {
	if t.spinning {
		fmt.Fprint(t.w, "\r\x1b[2K")
		t.spinning = false
	}
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
