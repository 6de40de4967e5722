//go:build termauth_pkgconfig

package termauth

// pkg-config: PKG_CONFIG_PATH=<prefix>/lib/pkgconfig go build -tags termauth_pkgconfig
// (links libtermauth.so when present; add -ldflags=-extldflags=-static-pie or remove the .so
// to link the static archive).

/*
#cgo pkg-config: termauth
*/
import "C"
