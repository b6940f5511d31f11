package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Token is a bearer token as kept: its secret is known only by its
// SHA-256 (a token is 256 random bits, so a fast hash is enough: there is
// nothing to guess from it). Its scope says where it is accepted: the
// admin API (ScopeAdmin) or the SCIM endpoint of the public HTTP listener
// (ScopeSCIM), never both.
type Token struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Scope    Scope     `json:"scope,omitempty"`
	Identity string    `json:"identity"` // normalised DN the token acts as
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires,omitzero"`
	Hash     string    `json:"sha256,omitempty"` // hex SHA-256 of the secret
}

// Scope is where a token is accepted.
type Scope string

const (
	ScopeAdmin Scope = ""     // the admin API (tokens made before scopes have it)
	ScopeSCIM  Scope = "scim" // SCIM provisioning (package web/scim), as its identity
)

// tokenPrefix starts every secret, so that one is recognisable in a
// leaked file or log.
const tokenPrefix = "sbt_"

// Tokens is the set of bearer tokens, kept in a JSON file (mode 0600)
// rewritten whole on each change.
type Tokens struct {
	path string
	now  func() time.Time

	mu     sync.Mutex
	tokens []Token
}

// tokenFile is the file's content.
type tokenFile struct {
	Tokens []Token `json:"tokens"`
}

// OpenTokens loads the tokens kept in path (none if it does not exist).
func OpenTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path, now: time.Now}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	if t.tokens, err = parseTokenFile(b); err != nil {
		return nil, fmt.Errorf("admin tokens %s: %w", path, err)
	}
	return t, nil
}

// parseTokenFile decodes and checks a token file.
func parseTokenFile(b []byte) ([]Token, error) {
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, t := range f.Tokens {
		h, err := hex.DecodeString(t.Hash)
		switch {
		case t.ID == "" || seen[t.ID]:
			return nil, fmt.Errorf("token %d: missing or repeated id", i+1)
		case err != nil || len(h) != sha256.Size:
			return nil, fmt.Errorf("token %s: sha256 is not 64 hex digits", t.ID)
		case t.Identity == "":
			return nil, fmt.Errorf("token %s: no identity", t.ID)
		case t.Scope != ScopeAdmin && t.Scope != ScopeSCIM:
			return nil, fmt.Errorf("token %s: unknown scope %q", t.ID, t.Scope)
		}
		seen[t.ID] = true
	}
	return f.Tokens, nil
}

// Create makes a token for scope acting as identity (a normalised DN),
// expiring after ttl (never if 0), and returns it with its secret, which
// is not kept.
func (t *Tokens) Create(scope Scope, identity, name string, ttl time.Duration) (Token, string, error) {
	var raw [32]byte
	rand.Read(raw[:])
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	var idb [8]byte
	rand.Read(idb[:])
	sum := sha256.Sum256([]byte(secret))
	tok := Token{ID: hex.EncodeToString(idb[:]), Name: name, Scope: scope, Identity: identity, Created: t.now().UTC().Truncate(time.Second),
		Hash: hex.EncodeToString(sum[:])}
	if ttl > 0 {
		tok.Expires = tok.Created.Add(ttl)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	next := append(slices.Clip(t.tokens), tok)
	if err := t.save(next); err != nil {
		return Token{}, "", err
	}
	t.tokens = next
	return tok, secret, nil
}

// Revoke deletes the token id; it reports whether there was one.
func (t *Tokens) Revoke(id string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := slices.IndexFunc(t.tokens, func(k Token) bool { return k.ID == id })
	if i < 0 {
		return false, nil
	}
	next := slices.Delete(slices.Clone(t.tokens), i, i+1)
	if err := t.save(next); err != nil {
		return false, err
	}
	t.tokens = next
	return true, nil
}

// List returns the tokens (without secrets, which are not kept).
func (t *Tokens) List() []Token {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.tokens)
}

// Verify finds the live token of scope whose secret is secret: how the
// SCIM endpoint authenticates a bearer token.
func (t *Tokens) Verify(secret string, scope Scope) (Token, bool) {
	k, ok := t.lookup(secret)
	if !ok || k.Scope != scope {
		return Token{}, false
	}
	return k, true
}

// lookup finds the live token whose secret is secret.
func (t *Tokens) lookup(secret string) (Token, bool) {
	if t == nil || !strings.HasPrefix(secret, tokenPrefix) {
		return Token{}, false
	}
	sum := sha256.Sum256([]byte(secret))
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.tokens {
		h, _ := hex.DecodeString(k.Hash)
		if subtle.ConstantTimeCompare(h, sum[:]) == 1 {
			if !k.Expires.IsZero() && !now.Before(k.Expires) {
				return Token{}, false
			}
			return k, true
		}
	}
	return Token{}, false
}

// save writes tokens to the file: a new file renamed over the old one.
func (t *Tokens) save(tokens []Token) error {
	b, err := json.MarshalIndent(tokenFile{Tokens: tokens}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(t.path), ".admin-tokens-*")
	if err != nil {
		return fmt.Errorf("admin tokens: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("admin tokens: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("admin tokens: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("admin tokens: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("admin tokens: %w", err)
	}
	if err := os.Rename(f.Name(), t.path); err != nil {
		return fmt.Errorf("admin tokens: %w", err)
	}
	return nil
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Name string `json:"name"`
	// TTL is a Go duration ("720h"); empty: the token does not expire.
	TTL string `json:"ttl"`
	// Scope is "" (the admin API) or "scim".
	Scope Scope `json:"scope"`
	// Identity is the DN a SCIM token acts as; empty: the caller.
	Identity string `json:"identity"`
}

// tokenCreated is the answer to POST /api/v1/tokens: the only time the
// secret is shown.
type tokenCreated struct {
	Token
	Secret string `json:"token"`
}

// maxTokenRequest bounds the body of POST /api/v1/tokens.
const maxTokenRequest = 4 << 10

// tokenRoutes adds the token API to mux, behind protect.
//
//	POST   /api/v1/tokens       make a token acting as the caller
//	                            (HTTP Basic or a certificate; a token
//	                            cannot make tokens); 201 with the secret.
//	                            {"scope": "scim"} makes a SCIM token, which
//	                            may act as another entry ("identity": DN,
//	                            checked by TokenIdentity)
//	GET    /api/v1/tokens       the tokens, without secrets
//	DELETE /api/v1/tokens/{id}  revoke a token; 204
func (s *Server) tokenRoutes(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/tokens", s.protect(http.HandlerFunc(s.createToken)))
	mux.Handle("GET /api/v1/tokens", s.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := s.Tokens.List()
		if out == nil {
			out = []Token{}
		}
		for i := range out {
			out[i].Hash = "" // not a secret, but of no use to a reader
		}
		writeJSON(w, http.StatusOK, out)
	})))
	mux.Handle("DELETE /api/v1/tokens/{id}", s.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Tokens == nil {
			WriteProblem(w, http.StatusNotFound, "no such token")
			return
		}
		ok, err := s.Tokens.Revoke(r.PathValue("id"))
		switch {
		case err != nil:
			WriteProblem(w, http.StatusInternalServerError, err.Error())
		case !ok:
			WriteProblem(w, http.StatusNotFound, "no such token")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	id, _ := IdentityFrom(r.Context())
	if id.Method == MethodToken {
		// A stolen token must not outlive its revocation by making others.
		WriteProblem(w, http.StatusForbidden, "a token cannot make tokens: authenticate with a password or a client certificate")
		return
	}
	if s.Tokens == nil {
		WriteProblem(w, http.StatusNotImplemented, "tokens are not configured")
		return
	}
	var req tokenRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenRequest))
	if err != nil {
		WriteProblem(w, http.StatusRequestEntityTooLarge, "the request body is larger than 4 KiB")
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			WriteProblem(w, http.StatusBadRequest, "the body is not a token request {\"name\": ..., \"ttl\": ...}: "+err.Error())
			return
		}
	}
	var ttl time.Duration
	if req.TTL != "" {
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 {
			WriteProblem(w, http.StatusBadRequest, "ttl: want a positive Go duration such as 720h")
			return
		}
	}
	identity := id.DN
	switch {
	case req.Scope != ScopeAdmin && req.Scope != ScopeSCIM:
		WriteProblem(w, http.StatusBadRequest, `scope: want "" (the admin API) or "scim"`)
		return
	case req.Identity != "" && req.Scope != ScopeSCIM:
		WriteProblem(w, http.StatusBadRequest, "identity: only a SCIM token may act as another identity than its maker")
		return
	case req.Identity != "":
		if s.TokenIdentity == nil {
			WriteProblem(w, http.StatusNotImplemented, "identity: tokens for other identities are not configured")
			return
		}
		if identity, err = s.TokenIdentity(r.Context(), id.DN, req.Identity); err != nil {
			WriteProblem(w, http.StatusBadRequest, "identity: "+err.Error())
			return
		}
	}
	tok, secret, err := s.Tokens.Create(req.Scope, identity, req.Name, ttl)
	if err != nil {
		WriteProblem(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.logger().Info("bearer token created", "id", tok.ID, "name", tok.Name, "scope", string(tok.Scope), "identity", tok.Identity, "by", id.DN)
	tok.Hash = ""
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, tokenCreated{Token: tok, Secret: secret})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
