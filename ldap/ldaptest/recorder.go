// Package ldaptest provides utilities for testing LDAP handlers, in the
// manner of net/http/httptest.
package ldaptest

import (
	"errors"
	"sync"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// ErrResultWritten is returned by a Recorder written to after WriteResult.
var ErrResultWritten = errors.New("ldaptest: write after WriteResult")

// Kind names a response kind in Recorder.Order.
type Kind uint8

// Response kinds.
const (
	KindEntry Kind = iota + 1
	KindReference
	KindIntermediate
	KindResult
)

// RecordedEntry is a SearchResultEntry as the handler wrote it.
type RecordedEntry struct {
	Entry     ldap.Entry
	TypesOnly bool
	Controls  []ldap.ResponseControl
}

// RecordedReference is a SearchResultReference.
type RecordedReference struct {
	URLs     []string
	Controls []ldap.ResponseControl
}

// RecordedIntermediate is an IntermediateResponse.
type RecordedIntermediate struct {
	Name     string
	Value    []byte // nil means absent
	Controls []ldap.ResponseControl
}

// Recorder is an ldap.ResponseWriter that records what a handler writes.
// Everything is deep-copied, so a handler may reuse its buffers. It is
// safe for concurrent use; read its fields once the handler has returned.
type Recorder struct {
	mu sync.Mutex

	Entries       []RecordedEntry
	References    []RecordedReference
	Intermediates []RecordedIntermediate
	Result        *ldap.Result // nil until WriteResult
	Order         []Kind       // the kinds in the order written
	Flushes       int          // calls to Flush
	LateWrites    int          // writes attempted after WriteResult (a handler bug)

	// Err, when set, is returned by every write: it simulates a client
	// that went away or abandoned the operation (ldap.ErrAbandoned).
	Err error
}

var (
	_ ldap.ResponseWriter = (*Recorder)(nil)
	_ ldap.Flusher        = (*Recorder)(nil)
)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return new(Recorder) }

func (r *Recorder) begin() error {
	if r.Result != nil {
		r.LateWrites++
		return ErrResultWritten
	}
	return r.Err
}

// WriteEntry records a copy of e.
func (r *Recorder) WriteEntry(e *ldap.Entry, typesOnly bool, controls ...ldap.ResponseControl) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.begin(); err != nil {
		return err
	}
	r.Entries = append(r.Entries, RecordedEntry{Entry: CopyEntry(e), TypesOnly: typesOnly, Controls: copyControls(controls)})
	r.Order = append(r.Order, KindEntry)
	return nil
}

// WriteReference records a copy of urls.
func (r *Recorder) WriteReference(urls []string, controls ...ldap.ResponseControl) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.begin(); err != nil {
		return err
	}
	r.References = append(r.References, RecordedReference{URLs: append([]string(nil), urls...), Controls: copyControls(controls)})
	r.Order = append(r.Order, KindReference)
	return nil
}

// WriteIntermediate records an intermediate response.
func (r *Recorder) WriteIntermediate(name string, value []byte, controls ...ldap.ResponseControl) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.begin(); err != nil {
		return err
	}
	r.Intermediates = append(r.Intermediates, RecordedIntermediate{Name: name, Value: cloneBytes(value), Controls: copyControls(controls)})
	r.Order = append(r.Order, KindIntermediate)
	return nil
}

// WriteResult records a copy of res (nil means success).
func (r *Recorder) WriteResult(res *ldap.Result) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.begin(); err != nil {
		return err
	}
	if res == nil {
		res = &ldap.Result{}
	}
	cp := *res
	cp.Referral = append([]string(nil), res.Referral...)
	cp.Controls = copyControls(res.Controls)
	cp.ServerCreds = cloneBytes(res.ServerCreds)
	cp.ResponseValue = cloneBytes(res.ResponseValue)
	r.Result = &cp
	r.Order = append(r.Order, KindResult)
	return nil
}

// Flush counts the call.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Flushes++
	return r.Err
}

// Code returns the recorded result code, or -1 when no result was written.
func (r *Recorder) Code() ldap.ResultCode {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Result == nil {
		return -1
	}
	return r.Result.Code
}

// Done reports whether WriteResult was called.
func (r *Recorder) Done() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Result != nil
}

// CopyEntry returns a deep copy of e.
func CopyEntry(e *ldap.Entry) ldap.Entry {
	cp := ldap.Entry{DN: e.DN}
	if e.Attributes != nil {
		cp.Attributes = make([]ldap.Attribute, len(e.Attributes))
		for i, a := range e.Attributes {
			cp.Attributes[i].Name = a.Name
			if a.Values != nil {
				vs := make([][]byte, len(a.Values))
				for j, v := range a.Values {
					vs[j] = cloneBytes(v)
				}
				cp.Attributes[i].Values = vs
			}
		}
	}
	return cp
}

func copyControls(cs []ldap.ResponseControl) []ldap.ResponseControl {
	if cs == nil {
		return nil
	}
	out := make([]ldap.ResponseControl, len(cs))
	for i, c := range cs {
		out[i] = ldap.ResponseControl{OID: c.OID, Critical: c.Critical, Value: cloneBytes(c.Value)}
	}
	return out
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
