package termauth

// The thin layer over the C ABI (include/termauth.h): flows, stores, lifecycle, errors.
// Everything above this file is plain Go.

/*
#include <stdlib.h>
#include "termauth.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"unsafe"
)

// abiVersion is the ABI this package was written against; New refuses another.
const abiVersion = 1

func checkABI() error {
	if v := uint32(C.termauth_abi_version()); v != abiVersion {
		return &Error{Kind: "usage", Code: "abi_mismatch", Hint: "fatal",
			Message: fmt.Sprintf("libtermauth has ABI version %d, this Go package needs %d: rebuild both from one release.", v, abiVersion)}
	}
	return nil
}

// Strings go in as pointer + length without a copy on the Go side: the bytes hold no Go
// pointers (cgo rules) and the library copies them before returning.
func cstr(s string) (*C.uint8_t, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

func cbytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

func view(s C.termauth_str) string {
	if s.data == nil {
		return ""
	}
	return C.GoStringN(s.data, C.int(s.len))
}

// owned copies an owned C string into Go and frees (wipes) the C copy. ok=false for NULL.
func owned(p *C.char) (string, bool) {
	if p == nil {
		return "", false
	}
	s := C.GoString(p)
	C.termauth_string_free(p)
	return s, true
}

// fail turns a failed status and its error object into an *Error (and frees the object).
func fail(st C.termauth_status, e *C.termauth_error) error {
	if st == C.TERMAUTH_STATUS_OK {
		return nil
	}
	if e == nil {
		return &Error{Kind: "usage", Code: "internal_error", Hint: "fatal", Message: fmt.Sprintf("libtermauth failed with status %d", uint32(st))}
	}
	defer C.termauth_error_free(e)
	return errorFromJSON(view(C.termauth_error_json(e)))
}

func errorFromJSON(text string) error {
	var out Error
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return &Error{Kind: "usage", Code: "internal_error", Hint: "fatal", Message: "unreadable error from libtermauth"}
	}
	return &out
}

// ───────────────────────────── flows ─────────────────────────────

type flow struct {
	p *C.termauth_flow
}

func newFlow(spec []byte, seed []byte) (*flow, error) {
	var p *C.termauth_flow
	var e *C.termauth_error
	sp, sl := cbytes(spec)
	var seedp *C.uint8_t
	if seed != nil {
		if len(seed) != 32 {
			return nil, &Error{Kind: "usage", Code: "invalid_seed", Hint: "fatal", Message: "a seed is 32 bytes"}
		}
		seedp = (*C.uint8_t)(unsafe.Pointer(&seed[0]))
	}
	if err := fail(C.termauth_flow_new(sp, sl, seedp, &p, &e), e); err != nil {
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

// poll returns the next action as its JSON text (the vectors' shape) and its kind.
func (f *flow) poll(nowMs int64) (string, error) {
	var a C.termauth_action
	if st := C.termauth_flow_poll(f.p, C.uint64_t(nowMs), &a); st != C.TERMAUTH_STATUS_OK {
		return "", fail(st, nil)
	}
	var s C.termauth_str
	st := C.termauth_flow_action_json(f.p, &s)
	out := view(s) // copied before the next call on the flow
	runtime.KeepAlive(f)
	return out, fail(st, nil)
}

func (f *flow) handleJSON(input []byte, nowMs int64) error {
	var e *C.termauth_error
	p, l := cbytes(input)
	st := C.termauth_flow_handle_json(f.p, p, l, C.uint64_t(nowMs), &e)
	runtime.KeepAlive(f)
	return fail(st, e)
}

func (f *flow) handleResponse(id uint64, status int, headers string, body []byte, nowMs int64) error {
	var e *C.termauth_error
	hp, hl := cstr(headers)
	bp, bl := cbytes(body)
	st := C.termauth_flow_handle_response(f.p, C.uint64_t(id), C.uint16_t(status), hp, hl, bp, bl, C.uint64_t(nowMs), &e)
	runtime.KeepAlive(f)
	runtime.KeepAlive(body)
	return fail(st, e)
}

func (f *flow) handleTransportError(id uint64, kind uint32, message string, nowMs int64) error {
	var e *C.termauth_error
	mp, ml := cstr(message)
	if mp == nil {
		mp, ml = cstr("transport error")
	}
	st := C.termauth_flow_handle_transport_error(f.p, C.uint64_t(id), C.uint32_t(kind), mp, ml, C.uint64_t(nowMs), &e)
	runtime.KeepAlive(f)
	return fail(st, e)
}

func (f *flow) handleRedirect(url string, nowMs int64) error {
	var e *C.termauth_error
	up, ul := cstr(url)
	st := C.termauth_flow_handle_redirect(f.p, up, ul, C.uint64_t(nowMs), &e)
	runtime.KeepAlive(f)
	return fail(st, e)
}

func (f *flow) cancel(nowMs int64) {
	C.termauth_flow_cancel(f.p, C.uint64_t(nowMs), nil)
	runtime.KeepAlive(f)
}

const (
	transportDNS     = uint32(C.TERMAUTH_TRANSPORT_DNS)
	transportConnect = uint32(C.TERMAUTH_TRANSPORT_CONNECT)
	transportTLS     = uint32(C.TERMAUTH_TRANSPORT_TLS)
	transportTimeout = uint32(C.TERMAUTH_TRANSPORT_TIMEOUT)
	transportOther   = uint32(C.TERMAUTH_TRANSPORT_OTHER)
)

// ───────────────────────────── stores ─────────────────────────────

// The store handle is immutable on the Rust side (a directory and a preference), so it is
// safe to use from several goroutines at once.
type store struct {
	p *C.termauth_store
}

type credKey struct {
	issuer, clientID, profile string
}

func openStore(app, configDir string, pref StorePreference) (*store, error) {
	var p *C.termauth_store
	var e *C.termauth_error
	ap, al := cstr(app)
	dp, dl := cstr(configDir)
	if err := fail(C.termauth_store_new(ap, al, dp, dl, C.uint32_t(pref), &p, &e), e); err != nil {
		return nil, err
	}
	s := &store{p: p}
	runtime.SetFinalizer(s, (*store).free)
	return s, nil
}

func (s *store) free() {
	if s.p != nil {
		C.termauth_store_free(s.p)
		s.p = nil
	}
	runtime.SetFinalizer(s, nil)
}

func (s *store) dir() string {
	var out *C.char
	C.termauth_store_dir(s.p, &out, nil)
	runtime.KeepAlive(s)
	d, _ := owned(out)
	return d
}

// load returns the record JSON ("" when none) and where it is stored.
func (s *store) load(k credKey) (string, *StoreChoice, error) {
	var cred, where *C.char
	var e *C.termauth_error
	ip, il := cstr(k.issuer)
	cp, cl := cstr(k.clientID)
	pp, pl := cstr(k.profile)
	st := C.termauth_store_load(s.p, ip, il, cp, cl, pp, pl, &cred, &where, &e)
	runtime.KeepAlive(s)
	if err := fail(st, e); err != nil {
		return "", nil, err
	}
	c, _ := owned(cred)
	w, ok := owned(where)
	var choice *StoreChoice
	if ok {
		choice = new(StoreChoice)
		_ = json.Unmarshal([]byte(w), choice)
	}
	return c, choice, nil
}

func (s *store) save(k credKey, credentialJSON string) (*StoreChoice, error) {
	var where *C.char
	var e *C.termauth_error
	ip, il := cstr(k.issuer)
	cp, cl := cstr(k.clientID)
	pp, pl := cstr(k.profile)
	jp, jl := cstr(credentialJSON)
	st := C.termauth_store_save(s.p, ip, il, cp, cl, pp, pl, jp, jl, &where, &e)
	runtime.KeepAlive(s)
	if err := fail(st, e); err != nil {
		return nil, err
	}
	w, _ := owned(where)
	choice := new(StoreChoice)
	_ = json.Unmarshal([]byte(w), choice)
	return choice, nil
}

func (s *store) delete(k credKey) (bool, error) {
	var removed C.bool
	var e *C.termauth_error
	ip, il := cstr(k.issuer)
	cp, cl := cstr(k.clientID)
	pp, pl := cstr(k.profile)
	st := C.termauth_store_delete(s.p, ip, il, cp, cl, pp, pl, &removed, &e)
	runtime.KeepAlive(s)
	return bool(removed), fail(st, e)
}

type storeLock struct {
	p *C.termauth_lock
}

// lock takes the credential's cross-process lock (blocks up to 60 s).
func (s *store) lock(k credKey) (*storeLock, error) {
	var p *C.termauth_lock
	var e *C.termauth_error
	ip, il := cstr(k.issuer)
	cp, cl := cstr(k.clientID)
	pp, pl := cstr(k.profile)
	st := C.termauth_store_lock(s.p, ip, il, cp, cl, pp, pl, &p, &e)
	runtime.KeepAlive(s)
	if err := fail(st, e); err != nil {
		return nil, err
	}
	l := &storeLock{p: p}
	runtime.SetFinalizer(l, (*storeLock).release)
	return l, nil
}

func (l *storeLock) release() {
	if l.p != nil {
		C.termauth_lock_free(l.p)
		l.p = nil
	}
	runtime.SetFinalizer(l, nil)
}

func (s *store) activeProfile(issuer, clientID string) (string, error) {
	var out *C.char
	var e *C.termauth_error
	ip, il := cstr(issuer)
	cp, cl := cstr(clientID)
	st := C.termauth_store_active_profile(s.p, ip, il, cp, cl, &out, &e)
	runtime.KeepAlive(s)
	if err := fail(st, e); err != nil {
		return "", err
	}
	p, _ := owned(out)
	return p, nil
}

func (s *store) setActiveProfile(k credKey) error {
	var e *C.termauth_error
	ip, il := cstr(k.issuer)
	cp, cl := cstr(k.clientID)
	pp, pl := cstr(k.profile)
	st := C.termauth_store_set_active_profile(s.p, ip, il, cp, cl, pp, pl, &e)
	runtime.KeepAlive(s)
	return fail(st, e)
}

// ───────────────────────────── lifecycle ─────────────────────────────

type decision struct {
	Decision   string `json:"decision"`
	StillValid bool   `json:"still_valid"`
	Reason     string `json:"reason"`
}

func decide(credentialJSON string, nowMs int64, skewMs int64) (decision, error) {
	var out *C.char
	var e *C.termauth_error
	cp, cl := cstr(credentialJSON)
	if err := fail(C.termauth_lifecycle_decide(cp, cl, C.uint64_t(nowMs), C.uint64_t(skewMs), &out, &e), e); err != nil {
		return decision{}, err
	}
	s, _ := owned(out)
	var d decision
	err := json.Unmarshal([]byte(s), &d)
	return d, err
}

// decideLocked: the decision after taking the lock and re-reading the record (the core's
// lifecycle::decide_locked): "use" means use current — another process renewed it.
func decideLocked(before, current string, nowMs, skewMs int64, force bool) (decision, error) {
	var out *C.char
	var e *C.termauth_error
	bp, bl := cstr(before)
	cp, cl := cstr(current)
	if err := fail(C.termauth_lifecycle_decide_locked(bp, bl, cp, cl, C.uint64_t(nowMs), C.uint64_t(skewMs), C.bool(force), &out, &e), e); err != nil {
		return decision{}, err
	}
	s, _ := owned(out)
	var d decision
	err := json.Unmarshal([]byte(s), &d)
	return d, err
}

// renewedElsewhere: current is an unexpired renewal of before made by another process (the
// core's lifecycle::renewed_elsewhere).
func renewedElsewhere(before, current string, nowMs int64) (bool, error) {
	var out C.bool
	var e *C.termauth_error
	bp, bl := cstr(before)
	cp, cl := cstr(current)
	if err := fail(C.termauth_lifecycle_renewed_elsewhere(bp, bl, cp, cl, C.uint64_t(nowMs), &out, &e), e); err != nil {
		return false, err
	}
	return bool(out), nil
}

func afterRenewalFailure(credentialJSON string, renewalErr *Error, nowMs int64) (decision, error) {
	ej, _ := json.Marshal(renewalErr)
	var out *C.char
	var e *C.termauth_error
	cp, cl := cstr(credentialJSON)
	ep, el := cbytes(ej)
	if err := fail(C.termauth_lifecycle_after_renewal_failure(cp, cl, ep, el, C.uint64_t(nowMs), &out, &e), e); err != nil {
		return decision{}, err
	}
	runtime.KeepAlive(ej)
	s, _ := owned(out)
	var d decision
	err := json.Unmarshal([]byte(s), &d)
	return d, err
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
