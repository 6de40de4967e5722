//go:build darwin && !ios && amd64 && !termauth_pkgconfig && !termauth_shared && !termauth_source

package termauth

// The prebuilt static library for darwin/amd64 that ships in this module (lib/darwin_amd64; see lib/README.md).

/*
#cgo CFLAGS: -I${SRCDIR}/lib
#cgo LDFLAGS: ${SRCDIR}/lib/darwin_amd64/libtermauth.a -framework Security -framework CoreFoundation -liconv -lm
*/
import "C"
