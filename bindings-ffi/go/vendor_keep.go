//go:build termauth_vendor_keep

package termauth

// Never built (no one sets the tag): `go mod vendor` copies every package imported under
// any build tag, and so keeps the header and the prebuilt libraries, which are in packages
// without Go code of their own.
import (
	_ "github.com/termauth/termauth/bindings-ffi/go/lib"
	_ "github.com/termauth/termauth/bindings-ffi/go/lib/darwin_amd64"
	_ "github.com/termauth/termauth/bindings-ffi/go/lib/darwin_arm64"
	_ "github.com/termauth/termauth/bindings-ffi/go/lib/linux_amd64"
	_ "github.com/termauth/termauth/bindings-ffi/go/lib/linux_arm64"
	_ "github.com/termauth/termauth/bindings-ffi/go/lib/windows_amd64"
)
