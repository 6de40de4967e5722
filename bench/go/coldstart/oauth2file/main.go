// The size and cold-start baseline with the same job as ./with: a CLI on x/oauth2 that
// keeps its token in a file (internal/storedtoken does the job; ./without links a static
// token only: no file, no HTTP).
package main

import (
	"os"

	"github.com/termauth/termauth/bench/go/coldstart/internal/storedtoken"
)

func main() { storedtoken.Run(os.ReadFile) }
