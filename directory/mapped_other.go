//go:build !linux

package directory

// ReleaseMappedPages does nothing where the kernel offers no
// MADV_PAGEOUT: it returns 0.
func (e *Engine) ReleaseMappedPages() (int64, error) { return 0, nil }
