package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/schema"
)

// limitsCountCase is one count of limits.*: the YAML setting it to a
// value (%d), how to read it back, its default, and whether -1 (none) and
// 0 are accepted.
type limitsCountCase struct {
	key    string
	yaml   string
	get    func(*Config) int
	def    int
	noNone bool // -1 is refused
	zeroOK bool // 0 is a valid value
}

func limitsCountCases() []limitsCountCase {
	top := func(key string, def int, get func(*Config) int) limitsCountCase {
		return limitsCountCase{key: "limits." + key, yaml: "limits:\n  " + key + ": %d\n", get: get, def: def}
	}
	cases := []limitsCountCase{
		top("size", 500, func(c *Config) int { return c.Limits.Size }),
		top("unindexed", 25000, func(c *Config) int { return c.Limits.Unindexed }),
		top("max_pdu_before_bind", 262143, func(c *Config) int { return c.Limits.MaxPDUBeforeBind }),
		top("max_pdu_after_bind", 4194303, func(c *Config) int { return c.Limits.MaxPDUAfterBind }),
		top("max_connections", 4096, func(c *Config) int { return c.Limits.MaxConnections }),
		top("max_in_flight", 32, func(c *Config) int { return c.Limits.MaxInFlight }),
		top("max_connections_per_ip", 256, func(c *Config) int { return c.Limits.MaxConnectionsPerIP }),
		top("disk_reserve_mb", 256, func(c *Config) int { return c.Limits.DiskReserveMB }),
		top("max_value_bytes", 512<<10, func(c *Config) int { return c.Limits.MaxValueBytes }),
		top("max_entry_bytes", 8<<20, func(c *Config) int { return c.Limits.MaxEntryBytes }),
		top("write_bytes_per_minute", 256<<20, func(c *Config) int { return c.Limits.WriteBytesPerMinute }),
		top("sort_candidates", 100000, func(c *Config) int { return c.Limits.SortCandidates }),
		top("sort_candidates_root", -1, func(c *Config) int { return c.Limits.SortCandidatesRoot }),
		top("sort_memory_mb", 128, func(c *Config) int { return c.Limits.SortMemoryMB }),
		top("filter_work", 5000000, func(c *Config) int { return c.Limits.FilterWork }),
		top("chain_depth", 32, func(c *Config) int { return c.Limits.ChainDepth }),
		top("chain_entries", 1<<20, func(c *Config) int { return c.Limits.ChainEntries }),
	}
	for i := range cases {
		switch cases[i].key {
		case "limits.max_pdu_before_bind", "limits.max_pdu_after_bind", "limits.max_in_flight":
			cases[i].noNone = true
		case "limits.disk_reserve_mb":
			cases[i].zeroOK = true
		}
	}
	// An absent by_identity count is 0 to frontend: the default's.
	deref := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	return append(cases,
		limitsCountCase{key: "limits.by_identity[0].size",
			yaml: "limits:\n  by_identity:\n    - who: users\n      size: %d\n",
			get:  func(c *Config) int { return deref(c.Limits.ByIdentity[0].Size) }},
		limitsCountCase{key: "limits.by_identity[0].lookthrough",
			yaml: "limits:\n  by_identity:\n    - who: users\n      lookthrough: %d\n",
			get:  func(c *Config) int { return deref(c.Limits.ByIdentity[0].Lookthrough) }},
		limitsCountCase{key: "limits.max_value_bytes_by_attribute.jpegphoto",
			yaml: "limits:\n  max_value_bytes_by_attribute:\n    jpegPhoto: %d\n",
			get:  func(c *Config) int { return c.Limits.MaxValueBytesByAttribute["jpegphoto"] }},
	)
}

// TestLimitsCountConvention: every count of limits.* follows one rule:
// absent is the default, -1 none, a positive number the limit, and 0 is
// refused with a message naming the key and the spelling to use (except
// where 0 means something, and keys that cannot be unbounded refuse -1).
func TestLimitsCountConvention(t *testing.T) {
	for _, tc := range limitsCountCases() {
		t.Run(tc.key, func(t *testing.T) {
			unset := "log:\n  level: warn\n"
			if strings.HasPrefix(tc.key, "limits.by_identity") {
				unset = "limits:\n  by_identity:\n    - who: users\n"
			}
			cfg, err := loadFrom(t, unset)
			if err != nil {
				t.Fatalf("unset: %v", err)
			}
			if got := tc.get(cfg); got != tc.def {
				t.Errorf("unset: %d, want the default %d", got, tc.def)
			}

			cfg, err = loadFrom(t, fmt.Sprintf(tc.yaml, 7))
			if err != nil {
				t.Fatalf("7: %v", err)
			} else if got := tc.get(cfg); got != 7 {
				t.Errorf("7: read back %d", got)
			}

			cfg, err = loadFrom(t, fmt.Sprintf(tc.yaml, -1))
			switch {
			case tc.noNone && err == nil:
				t.Errorf("-1 accepted for a limit that cannot be off")
			case tc.noNone && (!strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), "positive")):
				t.Errorf("-1: message %q does not name the key and a positive number", err)
			case !tc.noNone && err != nil:
				t.Errorf("-1: %v", err)
			case !tc.noNone && tc.get(cfg) != -1:
				t.Errorf("-1: read back %d", tc.get(cfg))
			}

			_, err = loadFrom(t, fmt.Sprintf(tc.yaml, 0))
			switch {
			case tc.zeroOK && err != nil:
				t.Errorf("0: %v", err)
			case tc.zeroOK:
			case err == nil:
				t.Errorf("0 accepted")
			case !strings.Contains(err.Error(), tc.key):
				t.Errorf("0: message %q does not name %s", err, tc.key)
			case !tc.noNone && !strings.Contains(err.Error(), "write -1 for no limit"):
				t.Errorf("0: message %q does not give the spelling of no limit", err)
			}

			if _, err := loadFrom(t, fmt.Sprintf(tc.yaml, -2)); err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("-2: %v", err)
			}
		})
	}
}

// TestLimitsCountCasesComplete: the table above and countLimits cover
// every integer key of limits.*, so that a new one is classified.
func TestLimitsCountCasesComplete(t *testing.T) {
	var tested []string
	for _, tc := range limitsCountCases() {
		if !strings.Contains(tc.key, "[") && !strings.Contains(tc.key, "by_attribute") {
			tested = append(tested, tc.key)
		}
	}
	cfg, err := loadFrom(t, "log:\n  level: warn\n")
	if err != nil {
		t.Fatal(err)
	}
	var counted []string
	for _, l := range cfg.countLimits() {
		counted = append(counted, l.key)
	}
	for _, d := range defaults {
		if _, isInt := d.value.(int); !isInt || !strings.HasPrefix(d.key, "limits.") {
			continue
		}
		if !slices.Contains(tested, d.key) {
			t.Errorf("%s is not in limitsCountCases", d.key)
		}
		if !slices.Contains(counted, d.key) {
			t.Errorf("%s is not in Config.countLimits", d.key)
		}
	}
}

// TestLimitsNoneReachesTheLayersBelow: -1 turns into what each layer
// below takes for none.
func TestLimitsNoneReachesTheLayersBelow(t *testing.T) {
	cfg, err := loadFrom(t, `
limits:
  unindexed: -1
  filter_work: -1
  chain_depth: -1
  chain_entries: -1
  sort_memory_mb: -1
  max_value_bytes: -1
  max_entry_bytes: -1
  write_bytes_per_minute: -1
`)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.searchCost(); c.Work != 0 || c.ChainDepth != 0 || c.ChainEntries != 0 {
		t.Errorf("searchCost = %+v, want all 0 (none)", c)
	}
	if cfg.sortBudget() != nil {
		t.Error("sort_memory_mb -1 still built a sort budget")
	}
	if noneAsZero(cfg.Limits.Unindexed) != 0 {
		t.Error("unindexed -1 does not reach the engine as 0 (none)")
	}
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	if wl, err := cfg.writeLimits(s); err != nil || wl != nil {
		t.Errorf("writeLimits with every write limit -1 = %v, %v; want nil", wl, err)
	}
}
