// Package other links a second Rust static library (libother.a, built by
// bindings-ffi/test.sh from other.rs) into the same program as termauth: each carries its own
// copy of Rust's std, which must not clash at link time.
package other

/*
#cgo LDFLAGS: ${SRCDIR}/libother.a -lm -ldl -lpthread
#include <stdint.h>
uint32_t other_answer(void);
*/
import "C"

// Answer calls into the other Rust library.
func Answer() uint32 { return uint32(C.other_answer()) }
