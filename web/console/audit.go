package console

// The audit log page: the newest records of the audit overlay's log
// (directory/overlay/audit), filtered by who, what and when, and the
// state of its hash chain. The log's files come from Operations; this
// file parses their records, which are LDIF change records behind
// comment lines:
//
//	# time: 2026-11-26T21:30:00.123Z
//	# who: cn=admin,dc=example,dc=com
//	# from: 127.0.0.1:50412
//	# op: modify
//	# result: 0 success
//	dn: uid=ada,ou=people,dc=example,dc=com
//	changetype: modify
//	...
//	# chain: 3f0c...

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"
)

// AuditLog is what Operations reads of the audit log.
type AuditLog struct {
	File string // the current file's path
	// Tail is the end of the current file (whole records are parsed
	// from its first blank line on).
	Tail []byte
	// Chain is the chain's state over every file, when asked for.
	Chain *AuditChain
}

// AuditChain is the result of verifying the audit log's hash chain.
type AuditChain struct {
	OK      bool
	Files   int
	Records int
	Head    string // the last chain value
	Error   string // the first break
}

// An auditRecord is one record of the log.
type auditRecord struct {
	Time       time.Time
	Who, From  string
	Op, DN     string
	Result     string
	Diagnostic string
	Change     string // the LDIF change record, for writes
}

// Failed reports whether the operation failed.
func (r auditRecord) Failed() bool { return !strings.HasPrefix(r.Result, "0 ") }

// parseAudit parses the whole records of an audit log's tail. A tail
// that does not start at the file's start may start inside a record: that
// one is dropped, as is a final record without its chain line.
func parseAudit(tail []byte, whole bool) []auditRecord {
	if !whole {
		i := bytes.Index(tail, []byte("\n\n"))
		if i < 0 {
			return nil
		}
		tail = tail[i+1:]
	}
	var out []auditRecord
	for block := range bytes.SplitSeq(tail, []byte("\n\n")) {
		if r, ok := parseAuditRecord(block); ok {
			out = append(out, r)
		}
	}
	return out
}

// parseAuditRecord parses one record; ok is false for anything else
// (the file's header, a cut record).
func parseAuditRecord(block []byte) (auditRecord, bool) {
	var r auditRecord
	var change []string
	chained := false
	lines := strings.Split(strings.Trim(string(block), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			key, value, _ := strings.Cut(rest, ": ")
			switch key {
			case "time":
				r.Time, _ = time.Parse(time.RFC3339Nano, value)
			case "who":
				r.Who = value
			case "from":
				r.From = value
			case "op":
				r.Op = value
			case "result":
				r.Result = value
			case "diagnostic":
				r.Diagnostic = value
			case "dn":
				r.DN = value
			case "chain":
				chained = true
			default:
				if dn, ok := strings.CutPrefix(rest, "bind dn="); ok {
					if j := strings.LastIndex(dn, " result="); j >= 0 {
						dn = dn[:j]
					}
					r.DN = dn
				}
			}
			continue
		}
		change = append(change, line)
		if v, ok := strings.CutPrefix(line, "dn:"); ok && r.DN == "" {
			// A folded DN continues on lines starting with a space.
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], " ") {
				i++
				v += lines[i][1:]
				change = append(change, lines[i])
			}
			if b64, ok := strings.CutPrefix(v, ":"); ok {
				if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64)); err == nil {
					v = string(b)
				}
			}
			r.DN = strings.TrimSpace(v)
		}
	}
	if !chained || r.Op == "" {
		return auditRecord{}, false
	}
	r.Change = strings.Join(change, "\n")
	return r, true
}

// maxAuditShown bounds the records the page lists.
const maxAuditShown = 200

type auditPage struct {
	Log                    *AuditLog
	Who, What, Since, Till string
	Records                []auditRecord
	Matched                int
	Error                  string
}

// parseWhen reads a time from a filter field: a date, a date and time
// (as a datetime-local input sends it), or RFC 3339.
func parseWhen(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// filterAudit returns the records matching the page's filters, newest
// first.
func filterAudit(recs []auditRecord, p *auditPage) []auditRecord {
	who, what := strings.ToLower(strings.TrimSpace(p.Who)), strings.ToLower(strings.TrimSpace(p.What))
	since, hasSince := parseWhen(p.Since)
	till, hasTill := parseWhen(p.Till)
	if hasTill && len(strings.TrimSpace(p.Till)) == len("2006-01-02") {
		till = till.Add(24 * time.Hour) // the whole day
	}
	var out []auditRecord
	for _, r := range slices.Backward(recs) {
		switch {
		case who != "" && !strings.Contains(strings.ToLower(r.Who), who) && !strings.Contains(strings.ToLower(r.From), who):
		case what != "" && !strings.Contains(strings.ToLower(r.Op+" "+r.DN+" "+r.Result), what):
		case hasSince && r.Time.Before(since):
		case hasTill && !r.Time.Before(till):
		default:
			out = append(out, r)
		}
	}
	return out
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.operations(w, r, s) {
		return
	}
	q := r.URL.Query()
	p := auditPage{Who: q.Get("who"), What: q.Get("what"), Since: q.Get("since"), Till: q.Get("until")}
	if p.Since != "" {
		if _, ok := parseWhen(p.Since); !ok {
			p.Error = "The start time is not a date (2006-01-02) or a date and time."
		}
	}
	if p.Till != "" {
		if _, ok := parseWhen(p.Till); !ok {
			p.Error = "The end time is not a date (2006-01-02) or a date and time."
		}
	}
	log, err := c.cfg.Operations.Audit(r.Context(), q.Get("verify") != "")
	if err != nil {
		p.Error = "The audit log cannot be read: " + err.Error()
	}
	p.Log = log
	if log != nil && p.Error == "" {
		all := filterAudit(parseAudit(log.Tail, false), &p)
		p.Matched = len(all)
		p.Records = all[:min(len(all), maxAuditShown)]
	}
	c.render(w, r, s, http.StatusOK, "audit", "Audit log", p)
}
