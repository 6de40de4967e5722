//go:build termauth_source && !termauth_pkgconfig && !termauth_shared

package termauth

// For work on termauth itself: the static library that bindings-ffi/build-lib.sh builds from
// this checkout's Rust sources into target/termauth-ffi (`bash bindings-ffi/build-lib.sh`,
// then `go test -tags termauth_source ./...`), instead of the prebuilt lib/<platform> ones.

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#cgo LDFLAGS: ${SRCDIR}/../../target/termauth-ffi/lib/libtermauth.a -lm -ldl -lpthread
*/
import "C"
