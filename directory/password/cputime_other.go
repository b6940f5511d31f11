//go:build !linux

package password

import "time"

// threadCPU is not available here: run falls back to wall time.
func threadCPU() (time.Duration, bool) { return 0, false }
