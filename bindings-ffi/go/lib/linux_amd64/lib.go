// Package linux_amd64 holds the prebuilt libtermauth.a for linux/amd64 (see ../README.md). It
// has no Go code: the package exists so that `go mod vendor` keeps the library.
package linux_amd64
