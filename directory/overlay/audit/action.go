package audit

import "time"

// Action is an audited change made outside LDAP: through the admin API,
// or by the server itself (a federation import that fails, a purge).
// Its record has the common comments, with the op, then "# object:" and
// one "# detail:" line per detail; no LDIF part:
//
//	# time: 2026-12-04T21:30:00.123Z
//	# who: cn=admin,dc=example,dc=com       <- identity, or "server"
//	# from: 127.0.0.1:50412                 <- remote address, or "internal"
//	# op: federation.export.put
//	# result: 0 success
//	# object: beta
//	# detail: base=ou=people,dc=example,dc=com
type Action struct {
	Time    time.Time
	Who     string // normalised DN of who acted; "" is the server itself
	From    string // remote address; "" is an internal caller
	Op      string // dotted name, e.g. "federation.export.delete"
	Object  string // what it acted on
	Details []string
	// Failure is why the action failed; "" is success.
	Failure string
}

// AppendAction appends the body of a's record to b.
func AppendAction(b []byte, a *Action) []byte {
	b = appendComment(b, "time", a.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	who := a.Who
	if who == "" {
		who = "server"
	}
	b = appendComment(b, "who", who)
	from := a.From
	if from == "" {
		from = "internal"
	}
	b = appendComment(b, "from", from)
	b = appendComment(b, "op", a.Op)
	if a.Failure == "" {
		b = appendComment(b, "result", "0 success")
	} else {
		b = appendComment(b, "result", "80 other")
		b = appendComment(b, "diagnostic", a.Failure)
	}
	b = appendComment(b, "object", a.Object)
	for _, d := range a.Details {
		b = appendComment(b, "detail", d)
	}
	return b
}

// RecordAction appends a's record (with the current time if a.Time is
// zero).
func (l *Log) RecordAction(a Action) error {
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	return l.Append(AppendAction(nil, &a))
}
