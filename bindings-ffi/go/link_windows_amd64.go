//go:build windows && amd64 && !termauth_pkgconfig && !termauth_shared && !termauth_source

package termauth

// The prebuilt static library for windows/amd64 that ships in this module (lib/windows_amd64; see lib/README.md).

/*
#cgo CFLAGS: -I${SRCDIR}/lib
#cgo LDFLAGS: ${SRCDIR}/lib/windows_amd64/libtermauth.a -lkernel32 -lntdll -luserenv -lws2_32 -ldbghelp
*/
import "C"
