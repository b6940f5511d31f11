package federation

import (
	"bytes"
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
		"GET /api/v1/federation/exports":           http.HandlerFunc(f.listExports),
		"GET /api/v1/federation/exports/{name}":    http.HandlerFunc(f.getExport),
		"PUT /api/v1/federation/exports/{name}":    http.HandlerFunc(f.putExportHTTP),
		"DELETE /api/v1/federation/exports/{name}": http.HandlerFunc(f.deleteExportHTTP),
		"GET /api/v1/federation/imports":           http.HandlerFunc(f.listImports),
		"GET /api/v1/federation/imports/{name}":    http.HandlerFunc(f.getImport),
		"PUT /api/v1/federation/imports/{name}":    http.HandlerFunc(f.putImportHTTP),
		"DELETE /api/v1/federation/imports/{name}": http.HandlerFunc(f.deleteImportHTTP),
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

func (f *Federation) getExport(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ex, ok := f.Export(name)
	if !ok {
		admin.WriteProblem(w, http.StatusNotFound, "no export named "+name)
		return
	}
	writeJSON(w, http.StatusOK, ex)
}

func (f *Federation) putExportHTTP(w http.ResponseWriter, r *http.Request) {
	var req exportRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, created, err := f.putExport(r.Context(), r.PathValue("name"), &req)
	var details []string
	if err == nil {
		details = []string{"created=" + strconv.FormatBool(created), "bind_dn=" + v.BindDN, "base=" + v.Base, "scope=" + v.Scope,
			"filter=" + v.Filter, "attributes=" + strings.Join(v.Attributes, ","), "password_changed=" + strconv.FormatBool(req.Password != ""),
			"discovery=" + strconv.FormatBool(v.Discovery)}
	}
	f.audit(actionOf(r, "federation.export.put", err, details...))
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

func (f *Federation) deleteExportHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	found, err := f.deleteExport(name)
	if found || err != nil {
		f.audit(actionOf(r, "federation.export.delete", err))
	}
	switch {
	case err != nil:
		writeError(w, err)
	case !found:
		admin.WriteProblem(w, http.StatusNotFound, "no export named "+name)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *Federation) listImports(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, f.Imports())
}

func (f *Federation) getImport(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	im, ok := f.Import(name)
	if !ok {
		admin.WriteProblem(w, http.StatusNotFound, "no import named "+name)
		return
	}
	writeJSON(w, http.StatusOK, im)
}

func (f *Federation) putImportHTTP(w http.ResponseWriter, r *http.Request) {
	var req importRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, created, err := f.putImport(r.Context(), r.PathValue("name"), &req)
	var details []string
	if err == nil {
		details = []string{"created=" + strconv.FormatBool(created), "source=" + v.Source, "bind_dn=" + v.BindDN,
			"remote_base=" + v.RemoteBase, "local_base=" + v.LocalBase}
	}
	f.audit(actionOf(r, "federation.import.put", err, details...))
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

func (f *Federation) deleteImportHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	found, err := f.deleteImport(r.Context(), name)
	if found || err != nil {
		f.audit(actionOf(r, "federation.import.delete", err, "purged="+strconv.FormatBool(err == nil)))
	}
	switch {
	case err != nil:
		writeError(w, err)
	case !found:
		admin.WriteProblem(w, http.StatusNotFound, "no import named "+name)
	default:
		w.WriteHeader(http.StatusNoContent)
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
