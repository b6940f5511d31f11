package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/web"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"login", "list", "entry", "form", "rename", "delete", "password", "replication", "federation", "server", "audit", "error"}

func (c *Console) parseTemplates() error {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"ago": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return time.Since(t).Round(time.Second).String() + " ago"
		},
		"until": func(t time.Time) string {
			d := time.Until(t).Round(time.Hour)
			if d < 0 {
				return "expired " + (-d).String() + " ago"
			}
			return fmt.Sprintf("in %d days", int(d.Hours()/24))
		},
		"seconds": func(f float64) string {
			return (time.Duration(f * float64(time.Second))).Round(time.Millisecond).String()
		},
		"bytes":    humanBytes,
		"join":     strings.Join,
		"add":      func(a, b int) int { return a + b },
		"duration": func(d time.Duration) string { return d.String() },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("console: templates: %w", err)
	}
	c.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name+".html")
		}
		if err != nil {
			return fmt.Errorf("console: templates: %w", err)
		}
		c.pages[name] = t
	}
	return nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// page is what layout.html renders around a page's content.
type page struct {
	Title   string
	Nav     string // the menu entry to highlight
	User    string // the logged-in DN; empty on the login page
	CSRF    string
	Ops     bool // the server and replication pages are offered
	Flash   string
	Error   string
	Content any
}

// render writes page name with data; s is nil on the login page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name, title string, data any) {
	c.renderPage(w, r, s, status, name, &page{Title: title, Content: data})
}

func (c *Console) renderPage(w http.ResponseWriter, r *http.Request, s *session, status int, name string, p *page) {
	if s != nil {
		p.User, p.CSRF = s.DN(), s.csrf
		p.Ops = c.cfg.Operations != nil && c.cfg.Operations.Allowed(r.Context(), s.DN())
	}
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("done")
	}
	if p.Nav == "" {
		p.Nav = name
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.logger().Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderFragment writes one template of page name on its own (the
// results of a search as you type).
func (c *Console) renderFragment(w http.ResponseWriter, name, tmpl string, data any) {
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, tmpl, data); err != nil {
		c.logger().Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// fail shows an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.renderPage(w, r, s, status, "error", &page{Title: http.StatusText(status), Error: msg})
}

// failLDAP shows a directory error, with the status it maps to.
func (c *Console) failLDAP(w http.ResponseWriter, r *http.Request, s *session, what string, err error) {
	c.fail(w, r, s, ldapStatus(err), what+": "+ldapMessage(err))
}

// ldapMessage is an LDAP error as an administrator reads it: the result
// code's name and the server's diagnostic message.
func ldapMessage(err error) string {
	var le *goldap.Error
	if errors.As(err, &le) {
		msg := goldap.LDAPResultCodeMap[le.ResultCode]
		if msg == "" {
			msg = fmt.Sprintf("result code %d", le.ResultCode)
		}
		if le.Err != nil && le.Err.Error() != "" {
			msg += ": " + le.Err.Error()
		}
		return msg
	}
	return err.Error()
}

func ldapStatus(err error) int {
	if web.DiskFull(err) {
		return http.StatusInsufficientStorage
	}
	var le *goldap.Error
	if !errors.As(err, &le) {
		return http.StatusBadGateway
	}
	switch le.ResultCode {
	case goldap.LDAPResultNoSuchObject:
		return http.StatusNotFound
	case goldap.LDAPResultInsufficientAccessRights:
		return http.StatusForbidden
	case goldap.LDAPResultEntryAlreadyExists, goldap.LDAPResultNotAllowedOnNonLeaf:
		return http.StatusConflict
	case goldap.LDAPResultBusy, goldap.LDAPResultUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}

func isCode(err error, code uint16) bool {
	var le *goldap.Error
	return errors.As(err, &le) && le.ResultCode == code
}
