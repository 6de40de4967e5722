// The phases of a cold start, in microseconds: New, the first Token (cold: the library's
// code and encoding/json's type caches are first used), a second Token (warm). run.sh runs
// it 21 times and prints the median run (by the first Token).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	termauth "github.com/termauth/termauth/bindings-ffi/go"
)

func main() {
	t0 := time.Now()
	c, err := termauth.New(termauth.Config{App: "bench", Issuer: "https://as.example.com", ClientID: "cli",
		ConfigDir: os.Getenv("BENCH_DIR"), Store: termauth.StoreFile, Stderr: io.Discard})
	if err != nil {
		panic(err)
	}
	t1 := time.Now()
	if _, err := c.Token(context.Background()); err != nil {
		panic(err)
	}
	t2 := time.Now()
	if _, err := c.Token(context.Background()); err != nil {
		panic(err)
	}
	t3 := time.Now()
	fmt.Println(t1.Sub(t0).Microseconds(), t2.Sub(t1).Microseconds(), t3.Sub(t2).Microseconds())
}
