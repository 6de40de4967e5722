//go:build !cgo

package termauth

// termauth calls its Rust core through cgo: build with CGO_ENABLED=1 and a C compiler (gcc or
// clang; for cross builds, CC for the target). The line below stops a CGO_ENABLED=0 build
// with its name as the first error: a type, because the compiler resolves the package's
// types before its variables and functions, file by file (and this file sorts first).
type cgoRequired termauth_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler
