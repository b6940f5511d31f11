//go:build !unix

package directory

import (
	"io"
	"os"
)

type noLock struct{}

func (noLock) Close() error { return nil }

// lockDir does nothing where flock is missing; Badger's own lock still
// guards a running server.
func lockDir(string) (io.Closer, error) { return noLock{}, nil }

// diskUsage returns the bytes a file takes on disk: its length here.
func diskUsage(info os.FileInfo) int64 { return info.Size() }
