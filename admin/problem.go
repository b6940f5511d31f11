package admin

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Problem is an RFC 9457 problem details object: every error the admin
// API answers is one, as application/problem+json.
type Problem struct {
	// Type is "about:blank": the status says what kind of problem it is
	// and Title is the status's text (RFC 9457 section 4.2.1).
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// WriteProblem answers status with a problem whose detail is detail.
func WriteProblem(w http.ResponseWriter, status int, detail string) {
	p := Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
	b, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// problems turns the plain-text error answers of h (http.Error's, the
// ServeMux's 404 and 405, the mounted replication API's) into problems,
// their text becoming the detail; answers already in another type pass
// through unchanged.
func problems(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &problemWriter{ResponseWriter: w}
		h.ServeHTTP(pw, r)
		pw.finish()
	})
}

// maxProblemText bounds the plain-text error body kept as a detail.
const maxProblemText = 4 << 10

type problemWriter struct {
	http.ResponseWriter
	status  int  // the error status being rewritten; 0 when passing through
	written bool // WriteHeader has been called
	text    bytes.Buffer
}

func (p *problemWriter) WriteHeader(status int) {
	if p.written {
		return
	}
	p.written = true
	if status >= 400 && isPlainText(p.Header().Get("Content-Type")) {
		p.status = status
		return
	}
	p.ResponseWriter.WriteHeader(status)
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if !p.written {
		p.WriteHeader(http.StatusOK)
	}
	if p.status == 0 {
		return p.ResponseWriter.Write(b)
	}
	if room := maxProblemText - p.text.Len(); room > 0 {
		p.text.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// Flush lets streaming handlers (pprof's trace) flush through.
func (p *problemWriter) Flush() {
	if p.status == 0 {
		http.NewResponseController(p.ResponseWriter).Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (p *problemWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

func (p *problemWriter) finish() {
	if p.status == 0 {
		return
	}
	h := p.Header()
	h.Del("Content-Length")
	WriteProblem(p.ResponseWriter, p.status, strings.TrimSpace(p.text.String()))
}

// isPlainText reports whether a Content-Type is text/plain (http.Error's)
// or unset.
func isPlainText(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/plain"
}
