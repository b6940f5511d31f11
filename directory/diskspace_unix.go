//go:build unix

package directory

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// statfsAvail returns the bytes of dir's filesystem that an unprivileged
// writer may still allocate.
func statfsAvail(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// allocatedBytes returns the disk space a file's blocks take, which is
// less than its size when it is sparse.
func allocatedBytes(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}

// writtenEnd returns the offset of the first hole in the file at path:
// the end of its written part, for a file written from the start on
// (Badger's write-ahead log), or its size when it has no hole.
func writtenEnd(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return unix.Seek(int(f.Fd()), 0, unix.SEEK_HOLE)
}
