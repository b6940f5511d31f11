//go:build linux

package directory

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// runIdentity returns what the run mark records of dir: the boot, and
// the device and inode of the directory and of each value log file. Two
// reads agree only on the same boot (the kernel's page cache holds every
// write a dead process made to those files) and on the same files (not
// a copy, which has new inodes).
func runIdentity(dir string) (string, bool) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil || len(boot) == 0 {
		return "", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "boot %s\n", strings.TrimSpace(string(boot)))
	ident := func(name string, info os.FileInfo) bool {
		st, ok := info.Sys().(*syscall.Stat_t)
		if ok {
			fmt.Fprintf(&b, "%s %d %d\n", name, st.Dev, st.Ino)
		}
		return ok
	}
	info, err := os.Stat(dir)
	if err != nil || !ident(".", info) {
		return "", false
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, en := range ents {
		if !strings.HasSuffix(en.Name(), ".vlog") {
			continue
		}
		info, err := en.Info()
		if err != nil || !ident(en.Name(), info) {
			return "", false
		}
	}
	return b.String(), true
}
