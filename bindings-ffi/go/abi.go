package termauth

// The thin layer over the C ABI (include/termauth.h): sessions, their storage, the
// environment snapshot, QR codes, errors; flows and JSON equality for the vector tests
// (cgo cannot be used in _test.go files). Everything above this file is plain Go.

/*
#include <stdlib.h>
#include <string.h>
#include "termauth.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// abiVersion is the ABI this package was written against; New refuses another.
const abiVersion = 2

func checkABI() error {
	if v := uint32(C.termauth_abi_version()); v != abiVersion {
		return internalError(fmt.Sprintf("libtermauth has ABI version %d, this Go package needs %d: rebuild both from one release", v, abiVersion))
	}
	return nil
}

// Bytes go in as pointer + length without a copy on the Go side: they hold no Go pointers
// (cgo rules) and the library copies them before returning.
func cbytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

func cstr(s string) (*C.uint8_t, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

func viewBytes(s C.termauth_str) []byte {
	if s.data == nil {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(s.data), C.int(s.len))
}

// ownedBytes copies an owned C string into Go and frees (wipes) the C copy.
func ownedBytes(p *C.char) []byte {
	if p == nil {
		return nil
	}
	b := C.GoBytes(unsafe.Pointer(p), C.int(C.strlen(p)))
	C.termauth_string_free(p)
	return b
}

// wipe zeroes a buffer that held a secret (a spec, an environment, an action).
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// fail turns a failed status and its error object into an *Error (and frees the object).
func fail(st C.termauth_status, e *C.termauth_error) error {
	if st == C.TERMAUTH_STATUS_OK {
		return nil
	}
	if e == nil {
		return internalError(fmt.Sprintf("libtermauth failed with status %d", uint32(st)))
	}
	defer C.termauth_error_free(e)
	return fromCError(e)
}

func fromCError(e *C.termauth_error) *Error {
	out := new(Error)
	if json.Unmarshal(viewBytes(C.termauth_error_json(e)), out) != nil {
		return internalError("unreadable error from libtermauth")
	}
	out.exitCode = int(C.termauth_error_exit_code(e))
	return out
}

// errorFromJSON reads an error the session gave as JSON (a `failed` action), with the
// core's exit code.
func errorFromJSON(text []byte) *Error {
	var e *C.termauth_error
	p, l := cbytes(text)
	st := C.termauth_error_from_json(p, l, &e, nil)
	runtime.KeepAlive(text)
	if st != C.TERMAUTH_STATUS_OK {
		return internalError("unreadable error from libtermauth")
	}
	defer C.termauth_error_free(e)
	return fromCError(e)
}

// ───────────────────────────── sessions ─────────────────────────────

type session struct {
	p *C.termauth_session
}

func newSession(spec []byte, seed []byte, nowMs int64) (*session, error) {
	var p *C.termauth_session
	var e *C.termauth_error
	sp, sl := cbytes(spec)
	var seedp *C.uint8_t
	if seed != nil {
		if len(seed) != 32 {
			return nil, internalError("a seed is 32 bytes")
		}
		seedp = (*C.uint8_t)(unsafe.Pointer(&seed[0]))
	}
	st := C.termauth_session_new(sp, sl, seedp, C.uint64_t(nowMs), &p, &e)
	runtime.KeepAlive(spec)
	runtime.KeepAlive(seed)
	if err := fail(st, e); err != nil {
		return nil, err
	}
	s := &session{p: p}
	runtime.SetFinalizer(s, (*session).free)
	return s, nil
}

// prepared is a configuration the library has parsed and checked once (it holds the
// client secret, which never comes back to Go).
type prepared struct {
	p *C.termauth_session_config
}

func prepareConfig(config []byte) (*prepared, error) {
	var p *C.termauth_session_config
	var e *C.termauth_error
	cp, cl := cbytes(config)
	st := C.termauth_session_config_new(cp, cl, &p, &e)
	runtime.KeepAlive(config)
	if err := fail(st, e); err != nil {
		return nil, err
	}
	c := &prepared{p: p}
	runtime.SetFinalizer(c, func(c *prepared) { C.termauth_session_config_free(c.p) })
	return c, nil
}

// startSession starts command with config for this process (the environment snapshot and
// the randomness are taken natively) and advances it: the session and its first action
// that is not storage. With wantToken, a session that ended at once with a token (a cached
// one) gives only that token, and no action.
func startSession(config *prepared, command []byte, nowMs int64, wantToken bool) (*session, []byte, string, error) {
	var p *C.termauth_session
	var v, t C.termauth_str
	var e *C.termauth_error
	tp := (*C.termauth_str)(nil)
	if wantToken {
		tp = &t
	}
	cp, cl := cbytes(command)
	st := C.termauth_session_start_prepared(config.p, cp, cl, C.uint64_t(nowMs), &p, &v, tp, &e)
	runtime.KeepAlive(command)
	runtime.KeepAlive(config)
	if err := fail(st, e); err != nil {
		return nil, nil, "", err
	}
	// No finalizer: every caller frees the session before it returns.
	s := &session{p: p}
	token := ""
	if t.data != nil {
		token = C.GoStringN(t.data, C.int(t.len))
	}
	return s, viewBytes(v), token, nil
}

func (s *session) free() {
	if s.p != nil {
		C.termauth_session_free(s.p)
		s.p = nil
	}
	runtime.SetFinalizer(s, nil)
}

// poll returns the next action's JSON (a copy: the library's view is wiped on the next call).
func (s *session) poll(nowMs int64) ([]byte, error) {
	var v C.termauth_str
	var e *C.termauth_error
	st := C.termauth_session_poll_json(s.p, C.uint64_t(nowMs), &v, &e)
	out := viewBytes(v)
	runtime.KeepAlive(s)
	return out, fail(st, e)
}

// advance polls, performing storage actions in the library, until another action.
func (s *session) advance(nowMs int64) ([]byte, error) {
	var v C.termauth_str
	var e *C.termauth_error
	st := C.termauth_session_advance_json(s.p, C.uint64_t(nowMs), &v, &e)
	out := viewBytes(v)
	runtime.KeepAlive(s)
	return out, fail(st, e)
}

func (s *session) handle(input []byte, nowMs int64) error {
	var e *C.termauth_error
	p, l := cbytes(input)
	st := C.termauth_session_handle_json(s.p, p, l, C.uint64_t(nowMs), &e)
	runtime.KeepAlive(s)
	runtime.KeepAlive(input)
	return fail(st, e)
}

// environmentJSON is the snapshot of this process a session of app reads (it may hold a
// token: wipe it after use).
func environmentJSON(app string) ([]byte, error) {
	var out *C.char
	var e *C.termauth_error
	p, l := cstr(app)
	if err := fail(C.termauth_environment_json(p, l, &out, &e), e); err != nil {
		return nil, err
	}
	return ownedBytes(out), nil
}

// layoutPrompt lays a prompt (its JSON) out for screen (JSON): the lines to print and the
// rows to erase at the end of the wait (termauth_layout_json).
func layoutPrompt(prompt []byte, screen []byte) (lines []string, eraseRows int) {
	var out *C.char
	pp, pl := cbytes(prompt)
	sp, sl := cbytes(screen)
	st := C.termauth_layout_json(pp, pl, sp, sl, &out, nil)
	runtime.KeepAlive(prompt)
	runtime.KeepAlive(screen)
	if st != C.TERMAUTH_STATUS_OK {
		return nil, 0
	}
	var layout struct {
		Lines     []string `json:"lines"`
		EraseRows int      `json:"erase_rows"`
	}
	_ = json.Unmarshal(ownedBytes(out), &layout)
	return layout.Lines, layout.EraseRows
}

// progressFrame is what to write at nowMs to redraw progress (its JSON) on screen (JSON).
func progressFrame(progress []byte, nowMs int64, screen []byte) string {
	var out *C.char
	pp, pl := cbytes(progress)
	sp, sl := cbytes(screen)
	st := C.termauth_progress_frame(pp, pl, C.uint64_t(max(nowMs, 0)), sp, sl, &out, nil)
	runtime.KeepAlive(progress)
	runtime.KeepAlive(screen)
	if st != C.TERMAUTH_STATUS_OK {
		return ""
	}
	return string(ownedBytes(out))
}

// endOfWait is what to write when a wait is over (termauth_end_of_wait).
func endOfWait(spinning bool, eraseRows int) string {
	var out *C.char
	if C.termauth_end_of_wait(C.bool(spinning), C.uint32_t(max(eraseRows, 0)), &out, nil) != C.TERMAUTH_STATUS_OK {
		return ""
	}
	return string(ownedBytes(out))
}

// ─────────────────────── flows and JSON equality (vector tests) ───────────────────────

type flow struct {
	p *C.termauth_flow
}

func newFlow(spec []byte, seed []byte) (*flow, error) {
	var p *C.termauth_flow
	var e *C.termauth_error
	sp, sl := cbytes(spec)
	var seedp *C.uint8_t
	if len(seed) == 32 {
		seedp = (*C.uint8_t)(unsafe.Pointer(&seed[0]))
	}
	st := C.termauth_flow_new(sp, sl, seedp, &p, &e)
	runtime.KeepAlive(spec)
	runtime.KeepAlive(seed)
	if err := fail(st, e); err != nil {
		return nil, err
	}
	f := &flow{p: p}
	runtime.SetFinalizer(f, (*flow).free)
	return f, nil
}

func (f *flow) free() {
	if f.p != nil {
		C.termauth_flow_free(f.p)
		f.p = nil
	}
	runtime.SetFinalizer(f, nil)
}

func (f *flow) poll(nowMs int64) ([]byte, error) {
	var a C.termauth_action
	if st := C.termauth_flow_poll(f.p, C.uint64_t(nowMs), &a); st != C.TERMAUTH_STATUS_OK {
		return nil, fail(st, nil)
	}
	var s C.termauth_str
	st := C.termauth_flow_action_json(f.p, &s)
	out := viewBytes(s)
	runtime.KeepAlive(f)
	return out, fail(st, nil)
}

func (f *flow) handleJSON(input []byte, nowMs int64) error {
	var e *C.termauth_error
	p, l := cbytes(input)
	st := C.termauth_flow_handle_json(f.p, p, l, C.uint64_t(nowMs), &e)
	runtime.KeepAlive(f)
	runtime.KeepAlive(input)
	return fail(st, e)
}

// jsonEqual is the vectors' comparison (member order ignored, `true` ≠ `1`), done by the library.
func jsonEqual(a, b []byte) (bool, error) {
	var eq C.bool
	var e *C.termauth_error
	ap, al := cbytes(a)
	bp, bl := cbytes(b)
	st := C.termauth_json_equal(ap, al, bp, bl, &eq, &e)
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	return bool(eq), fail(st, e)
}

// nowMs is the wall clock (Unix ms) the sessions run on.
func nowMs() int64 { return time.Now().UnixMilli() }
