module github.com/termauth/termauth/examples/go

go 1.23.0

require (
	github.com/termauth/termauth/bindings-ffi/go v0.0.0
	golang.org/x/oauth2 v0.30.0
)

require (
	golang.org/x/sys v0.35.0 // indirect
	golang.org/x/term v0.34.0 // indirect
)

replace github.com/termauth/termauth/bindings-ffi/go => ../../bindings-ffi/go
