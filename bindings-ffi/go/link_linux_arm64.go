//go:build linux && !android && arm64 && !termauth_pkgconfig && !termauth_shared && !termauth_source

package termauth

// The prebuilt static library for linux/arm64 that ships in this module (lib/linux_arm64; see lib/README.md).

/*
#cgo CFLAGS: -I${SRCDIR}/lib
#cgo LDFLAGS: ${SRCDIR}/lib/linux_arm64/libtermauth.a -lm -ldl -lpthread
*/
import "C"
