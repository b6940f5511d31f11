package console

import (
	"net/http"
)

// operations runs h for users Operations allows; others get 403.
func (c *Console) operations(w http.ResponseWriter, r *http.Request, s *session) bool {
	if c.cfg.Operations == nil {
		c.fail(w, r, s, http.StatusNotFound, "This server does not show its state here.")
		return false
	}
	if !c.cfg.Operations.Allowed(r.Context(), s.DN()) {
		c.fail(w, r, s, http.StatusForbidden, "Only the server's administrators (the root DN and the admin group) see this page.")
		return false
	}
	return true
}

func (c *Console) replication(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.operations(w, r, s) {
		return
	}
	c.render(w, r, s, http.StatusOK, "replication", "Replication", c.cfg.Operations.Replication(r.Context()))
}

func (c *Console) server(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.operations(w, r, s) {
		return
	}
	c.render(w, r, s, http.StatusOK, "server", "Server", c.cfg.Operations.Server(r.Context()))
}

func (c *Console) federation(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.operations(w, r, s) {
		return
	}
	c.render(w, r, s, http.StatusOK, "federation", "Federation", c.cfg.Operations.Federation(r.Context()))
}
