// Package windows_amd64 holds the prebuilt libtermauth.a for windows/amd64 (see ../README.md). It
// has no Go code: the package exists so that `go mod vendor` keeps the library.
package windows_amd64
