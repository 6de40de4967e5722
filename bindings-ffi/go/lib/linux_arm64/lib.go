// Package linux_arm64 holds the prebuilt libtermauth.a for linux/arm64 (see ../README.md). It
// has no Go code: the package exists so that `go mod vendor` keeps the library.
package linux_arm64
