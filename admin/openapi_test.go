package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOpenAPI: the description is served without credentials, parses,
// and names every route the server registers itself and federation's.
func TestOpenAPI(t *testing.T) {
	srv := httptest.NewServer((&Server{}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	for _, route := range []string{
		"GET /healthz", "GET /readyz", "GET /metrics", "GET /api/v1/whoami",
		"GET /api/v1/tokens", "POST /api/v1/tokens", "DELETE /api/v1/tokens/{id}", "GET /api/v1/syncrepl",
		"GET /api/v1/federation/exports", "GET /api/v1/federation/exports/{name}",
		"PUT /api/v1/federation/exports/{name}", "DELETE /api/v1/federation/exports/{name}",
		"GET /api/v1/federation/imports", "GET /api/v1/federation/imports/{name}",
		"PUT /api/v1/federation/imports/{name}", "DELETE /api/v1/federation/imports/{name}",
		"POST /api/v1/federation/discover",
	} {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not described", route)
		}
	}
}
