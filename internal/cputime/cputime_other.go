//go:build !unix

package cputime

import "time"

// Process returns 0: no CPU clock is read on this system.
func Process() time.Duration { return 0 }
