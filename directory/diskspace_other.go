//go:build !unix

package directory

import (
	"errors"
	"io/fs"
	"os"
)

// statfsAvail is not implemented here: the guard's probe fails, and
// writes go on as if there were room.
func statfsAvail(string) (int64, error) {
	return 0, errors.New("free disk space is not measured on this system")
}

func allocatedBytes(fi fs.FileInfo) int64 { return fi.Size() }

// writtenEnd returns the file's size: holes are not found here.
func writtenEnd(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
