package main

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/overlay/audit"
	"github.com/switchboard-ldap/switchboard/replication"
)

// TestOverlayTable: the one table gives both paths their order. With
// every overlay on, the write hooks run ppolicy, memberOf, the
// Replicator, the changelog (last, so it records what the others
// derived), the Replicator stamps, and audit is the outermost Backend.
func TestOverlayTable(t *testing.T) {
	var names []string
	for _, o := range overlays() {
		names = append(names, o.name)
	}
	if want := []string{"audit", "ppolicy", "memberof", "replication", "changelog", "syncprov", "psearch"}; !slices.Equal(names, want) {
		t.Fatalf("table order %v, want %v", names, want)
	}

	cfg := &Config{}
	cfg.Overlays.PPolicy.Enabled = true
	cfg.Overlays.MemberOf.Enabled = true
	cfg.Replication.MultiSupplier = true
	cfg.Replication.ReplicaID = 1
	cfg.Audit.File = filepath.Join(t.TempDir(), "audit.log")
	log := slog.New(slog.DiscardHandler)
	wp, err := buildWritePath(cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	var hooks []string
	for _, h := range wp.hooks {
		hooks = append(hooks, h.Name())
	}
	if want := []string{"ppolicy", "memberOf", "replication", "changelog"}; !slices.Equal(hooks, want) {
		t.Errorf("write hooks %v, want %v", hooks, want)
	}
	if _, ok := wp.stamper.(*replication.Replicator); !ok {
		t.Errorf("stamper %T, want the Replicator", wp.stamper)
	}
	if len(wp.virtual) != 2 {
		t.Errorf("%d computed attributes, want memberOf and contextCSN", len(wp.virtual))
	}

	// A bulk load has no changelog, Replicator or stamper.
	bulk, err := buildWritePath(cfg, log, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(bulk.hooks) != 2 || bulk.stamper != nil || bulk.clog != nil {
		t.Errorf("bulk write path: %d hooks, stamper %v, changelog %v", len(bulk.hooks), bulk.stamper, bulk.clog)
	}

	rp := &requestPath{cfg: cfg, log: log, eng: &directory.Engine{}}
	defer rp.close()
	if err := rp.wrapBackend(); err != nil {
		t.Fatal(err)
	}
	if _, ok := rp.backend.(*audit.Overlay); !ok || len(rp.closers) != 1 {
		t.Errorf("outermost Backend %T with %d closers, want the audit overlay", rp.backend, len(rp.closers))
	}
}
