//go:build unix

package main

import "syscall"

// privateUmask makes the files the process creates (Badger's, whose mode
// it does not let us choose, exports, audit logs) 0600 and its
// directories 0700.
func privateUmask() { syscall.Umask(0o077) }
