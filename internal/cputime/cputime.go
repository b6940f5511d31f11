// Package cputime measures the CPU time the process has used, for
// benchmarks on shared machines, where elapsed time says little.
package cputime

import (
	"testing"
	"time"
)

// Report reports the process's CPU time per operation since start (a
// Process reading) as cpu-ns/op. Without a CPU clock it reports nothing.
func Report(b *testing.B, start time.Duration) {
	if b.N > 0 && start >= 0 {
		if now := Process(); now > 0 {
			b.ReportMetric(float64(now-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
