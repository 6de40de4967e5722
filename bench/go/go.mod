module github.com/termauth/termauth/bench/go

go 1.23.0

require (
	github.com/termauth/termauth/bindings-ffi/go v0.0.0
	github.com/zalando/go-keyring v0.2.8
	golang.org/x/oauth2 v0.30.0
)

require (
	github.com/danieljoos/wincred v1.2.3 // indirect
	github.com/godbus/dbus/v5 v5.2.2 // indirect
	golang.org/x/sys v0.35.0 // indirect
	golang.org/x/term v0.34.0 // indirect
)

replace github.com/termauth/termauth/bindings-ffi/go => ../../bindings-ffi/go
