// Package darwin_amd64 holds the prebuilt libtermauth.a for darwin/amd64 (see ../README.md). It
// has no Go code: the package exists so that `go mod vendor` keeps the library.
package darwin_amd64
