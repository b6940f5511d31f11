//go:build unix

package directory

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// lockDir takes the exclusive flock Badger takes on its directory, so an
// offline tool and a running server never hold the store at once.
func lockDir(dir string) (io.Closer, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("directory: the store in %s is in use (is the server running?): %w", dir, err)
	}
	return f, nil
}

// diskUsage returns the bytes a file takes on disk (its blocks).
func diskUsage(info os.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
