package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory/overlay/audit"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// Routes returns the API's routes, as admin.Server.Mount takes them
// (the admin server authenticates and authorises every request).
func (f *Federation) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/v1/federation/exports":        http.HandlerFunc(f.listExports),
		"GET /api/v1/federation/exports/{name}": getOne("export", f.Export),
		"PUT /api/v1/federation/exports/{name}": putOne(f, "federation.export.put", f.putExport, exportDetails),
		"DELETE /api/v1/federation/exports/{name}": deleteOne(f, "export", "federation.export.delete", f.deleteExport,
			func(error) []string { return nil }),
		"GET /api/v1/federation/imports":        http.HandlerFunc(f.listImports),
		"GET /api/v1/federation/imports/{name}": getOne("import", f.Import),
		"PUT /api/v1/federation/imports/{name}": putOne(f, "federation.import.put", f.putImport, importDetails),
		"DELETE /api/v1/federation/imports/{name}": deleteOne(f, "import", "federation.import.delete", f.deleteImport,
			func(err error) []string { return []string{"purged=" + strconv.FormatBool(err == nil)} }),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		admin.WriteProblem(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers err as a problem: 400 for bad input, 409 for a
// conflict with the server's state, 422 for a source that refuses, 500
// otherwise.
func writeError(w http.ResponseWriter, err error) {
	var br *badRequest
	var cf *conflict
	var up *unprocessable
	switch {
	case errors.As(err, &br):
		admin.WriteProblem(w, http.StatusBadRequest, br.msg)
	case errors.As(err, &cf):
		admin.WriteProblem(w, http.StatusConflict, cf.msg)
	case errors.As(err, &up):
		admin.WriteProblem(w, http.StatusUnprocessableEntity, up.msg)
	default:
		admin.WriteProblem(w, http.StatusInternalServerError, err.Error())
	}
}

// decode reads a JSON object body into v, refusing unknown fields,
// trailing data and bodies over maxBody.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return bad("Content-Type %q: send application/json", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return bad("reading the body: %v (at most %d bytes)", err, maxBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return bad("the body is empty: send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad("the body is not the JSON object expected: %v", err)
	}
	if dec.More() {
		return bad("the body has data after the JSON object")
	}
	return nil
}

func (f *Federation) listExports(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, f.Exports())
}

func (f *Federation) listImports(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, f.Imports())
}

// exportDetails and importDetails are what the audit record of a PUT
// says about the agreement it saved.
func exportDetails(v ExportView, req *exportRequest) []string {
	return []string{"bind_dn=" + v.BindDN, "base=" + v.Base, "scope=" + v.Scope, "filter=" + v.Filter,
		"attributes=" + strings.Join(v.Attributes, ","), "password_changed=" + strconv.FormatBool(req.Password != ""),
		"discovery=" + strconv.FormatBool(v.Discovery)}
}

func importDetails(v ImportView, _ *importRequest) []string {
	return []string{"source=" + v.Source, "bind_dn=" + v.BindDN, "remote_base=" + v.RemoteBase, "local_base=" + v.LocalBase}
}

// The handlers of one agreement, export or import (noun), alike for
// both: GET, PUT and DELETE of /api/v1/federation/{noun}s/{name}.

// getOne answers the agreement named in the path, or 404.
func getOne[V any](noun string, get func(name string) (V, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		v, ok := get(name)
		if !ok {
			admin.WriteProblem(w, http.StatusNotFound, "no "+noun+" named "+name)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// putOne decodes a request, saves the agreement with put, audits it as
// op (with details of what was saved) and answers 201 or 200.
func putOne[Req, V any](f *Federation, op string, put func(ctx context.Context, name string, req *Req) (V, bool, error),
	details func(V, *Req) []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := decode(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		v, created, err := put(r.Context(), r.PathValue("name"), &req)
		var d []string
		if err == nil {
			d = append([]string{"created=" + strconv.FormatBool(created)}, details(v, &req)...)
		}
		f.audit(actionOf(r, op, err, d...))
		if err != nil {
			writeError(w, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeJSON(w, status, v)
	}
}

// deleteOne removes the agreement with del, audits it as op (details
// says more, given del's error) and answers 204, or 404.
func deleteOne(f *Federation, noun, op string, del func(ctx context.Context, name string) (bool, error),
	details func(err error) []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		found, err := del(r.Context(), name)
		if found || err != nil {
			f.audit(actionOf(r, op, err, details(err)...))
		}
		switch {
		case err != nil:
			writeError(w, err)
		case !found:
			admin.WriteProblem(w, http.StatusNotFound, "no "+noun+" named "+name)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

// actionOf is the audit record of an API request on the export or import
// named in its path: who made it, from where, and how it ended.
func actionOf(r *http.Request, op string, err error, details ...string) audit.Action {
	a := audit.Action{Op: op, Object: r.PathValue("name"), From: r.RemoteAddr, Details: details}
	if id, ok := admin.IdentityFrom(r.Context()); ok {
		a.Who = id.DN
	}
	if err != nil {
		a.Failure = err.Error()
	}
	return a
}
