//go:build linux && !android && amd64 && !termauth_pkgconfig && !termauth_shared && !termauth_source

package termauth

// The prebuilt static library for linux/amd64 that ships in this module (lib/linux_amd64; see lib/README.md).

/*
#cgo CFLAGS: -I${SRCDIR}/lib
#cgo LDFLAGS: ${SRCDIR}/lib/linux_amd64/libtermauth.a -lm -ldl -lpthread
*/
import "C"
