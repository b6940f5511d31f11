//go:build !unix

package directory

import "io"

type noLock struct{}

func (noLock) Close() error { return nil }

// lockDir does nothing where flock is missing; Badger's own lock still
// guards a running server.
func lockDir(string) (io.Closer, error) { return noLock{}, nil }
