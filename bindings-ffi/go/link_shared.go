//go:build termauth_shared && !termauth_pkgconfig

package termauth

// The shared library from the repository's target/termauth-ffi, found at run time
// through an rpath.

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/termauth-ffi/lib -Wl,-rpath,${SRCDIR}/../../target/termauth-ffi/lib -ltermauth
*/
import "C"
