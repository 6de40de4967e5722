module github.com/termauth/termauth/bench/go

go 1.23.0

require (
	github.com/termauth/termauth/bindings-ffi/go v0.0.0
	golang.org/x/oauth2 v0.30.0
)

replace github.com/termauth/termauth/bindings-ffi/go => ../../bindings-ffi/go
