// Package lib holds the C header and the prebuilt static libraries the termauth package
// links (see README.md). It has no Go code: the package exists so that `go mod vendor`
// keeps the header.
package lib
