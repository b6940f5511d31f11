package main

import (
	"strings"
	"sync/atomic"
	"time"
)

// OIDs of the server-side sort (RFC 2891) and VLV request controls.
const (
	oidSortRequest = "1.2.840.113556.1.4.473"
	oidVLVRequest  = "2.16.840.1.113730.3.4.9"
)

// sortControls returns the [0] Controls element of a request carrying a
// critical sort control on key ("-key" for reverse order) and, when
// window > 0, a critical VLV control asking for window entries from
// offset (byOffset, contentCount 0): an address book's browse.
func sortControls(key string, offset, window int) []byte {
	var w builder
	w.open(tagControls)
	sortControl(&w, strings.TrimPrefix(key, "-"), "", strings.HasPrefix(key, "-"))
	if window > 0 {
		w.control(oidVLVRequest, true, func(v *builder) {
			v.open(tagSequence)
			v.int(tagInteger, 0)               // beforeCount
			v.int(tagInteger, int64(window-1)) // afterCount
			v.open(0xa0)                       // byOffset [0]
			v.int(tagInteger, int64(max(offset, 1)))
			v.int(tagInteger, 0) // contentCount: unknown
			v.close()
			v.close()
		})
	}
	w.close()
	return w.b
}

// rssSampler records the highest resident set of a process while a run
// lasts (the sort and vlv operations hold memory only while they run, so
// the RSS at the end says little).
type rssSampler struct {
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if rss, _ := procRSS(pid); rss > s.max.Load() {
				s.max.Store(rss)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the highest RSS seen, in KiB.
func (s *rssSampler) finish() int64 {
	close(s.stop)
	<-s.done
	return s.max.Load()
}
