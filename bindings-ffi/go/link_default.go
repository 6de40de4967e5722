//go:build !termauth_pkgconfig && !termauth_shared

package termauth

// Default: link the static library that bindings-ffi/build-lib.sh installs in the
// repository's target/termauth-ffi (no run-time dependency; the binary's ldd lists only
// libc, libm and libgcc_s). Build with -tags termauth_pkgconfig to use an installed
// libtermauth through pkg-config instead, or -tags termauth_shared for the shared library.

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#cgo LDFLAGS: ${SRCDIR}/../../target/termauth-ffi/lib/libtermauth.a -lm -ldl -lpthread
*/
import "C"
