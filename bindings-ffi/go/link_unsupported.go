//go:build cgo && !termauth_pkgconfig && !termauth_shared && !termauth_source && !(linux && !android && amd64) && !(linux && !android && arm64) && !(darwin && !ios && amd64) && !(darwin && !ios && arm64) && !(windows && amd64)

package termauth

// No prebuilt library ships for this platform. Build libtermauth from the repository
// (bindings-ffi/build-lib.sh release PREFIX) and link it through pkg-config:
// PKG_CONFIG_PATH=PREFIX/lib/pkgconfig go build -tags termauth_pkgconfig.

/*
#cgo CFLAGS: -I${SRCDIR}/lib
*/
import "C"

var _ = termauth_ships_no_library_for_this_GOOS_GOARCH__build_libtermauth_and_use_the_tag_termauth_pkgconfig
