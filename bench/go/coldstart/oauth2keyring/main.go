// The like-for-like baseline of ./with: ./oauth2file plus what a Go CLI uses to keep its
// token in the OS keyring, as gh does (github.com/zalando/go-keyring: the Secret Service
// over godbus on Linux, the Keychain, the Credential Manager), with the file as fallback.
// termauth's library carries its own keyring client, so ./with is compared with both.
package main

import (
	"os"

	"github.com/termauth/termauth/bench/go/coldstart/internal/storedtoken"
	"github.com/zalando/go-keyring"
)

func main() {
	storedtoken.Run(func(path string) ([]byte, error) {
		// TERMAUTH_NO_KEYRING (set by run.sh) stands for "no keyring here": the file is
		// read, as termauth's file store is; the keyring client is linked either way.
		if os.Getenv("TERMAUTH_NO_KEYRING") == "" {
			if s, err := keyring.Get("bench", "cli"); err == nil {
				return []byte(s), nil
			}
		}
		return os.ReadFile(path)
	})
}
