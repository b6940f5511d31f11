// Package adminhttp is the HTTP surface of replication: the admin API a
// replica serves under /replication (status, digests, conflicts, the op
// log, and pausing, resuming and reinitialising peers). It renders what
// a replication.Replicator reports and calls its methods; it holds no
// state and package replication does not import it.
package adminhttp

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/switchboard-ldap/switchboard/replication"
)

// Handler serves the replication admin API. It does no authentication
// of its own: the admin server mounts it behind its own (package admin:
// the root DN or an admin group member), and turns its plain-text
// errors into problem details.
//
//	GET  /replication                     Status (JSON)
//	GET  /replication/digest              the state's digest, and with
//	                                      ?store=1 the digest of the stored
//	                                      entries, read in full
//	GET  /replication/conflicts           State.Conflicts
//	GET  /replication/oplog               per origin: the op log's floor,
//	                                      how many ops it holds, the last
//	POST /replication/peers/{name}/pause  stop pulling from a peer
//	POST /replication/peers/{name}/resume pull again (lifts a quarantine)
//	POST /replication/peers/{name}/reinit  reinitialise this replica from
//	                                      the peer's snapshot, online, then
//	                                      go on replicating (202; progress
//	                                      in GET /replication's "reinit";
//	                                      ?chunk_bytes=N sizes the chunks)
func Handler(r *replication.Replicator) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /replication", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, r.Status())
	})
	mux.HandleFunc("GET /replication/digest", func(w http.ResponseWriter, req *http.Request) {
		st := r.Status()
		out := map[string]any{"digest": st.Digest, "settled": st.Settled, "vector": st.Vector, "entries": st.Entries}
		if req.URL.Query().Get("store") != "" {
			d, err := r.StoreDigest()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			out["store_digest"] = hex.EncodeToString(d[:])
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /replication/oplog", func(w http.ResponseWriter, _ *http.Request) {
		out, err := r.OpLog()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("GET /replication/conflicts", func(w http.ResponseWriter, _ *http.Request) {
		type row struct {
			Kind     string `json:"kind"`
			Entry    string `json:"entry_uuid"`
			DN       string `json:"dn,omitempty"`
			WantedDN string `json:"wanted_dn,omitempty"`
			CSN      string `json:"csn"`
		}
		out := []row{}
		for _, c := range r.Conflicts() {
			out = append(out, row{c.Kind.String(), c.Entry.String(), c.DN, c.WantedDN, c.CSN.String()})
		}
		writeJSON(w, out)
	})
	peerAction := func(act func(*replication.Peer)) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			p := r.Peer(req.PathValue("name"))
			if p == nil {
				http.Error(w, "no such peer", http.StatusNotFound)
				return
			}
			act(p)
			writeJSON(w, p.Status())
		}
	}
	mux.HandleFunc("POST /replication/peers/{name}/pause", peerAction((*replication.Peer).Pause))
	mux.HandleFunc("POST /replication/peers/{name}/resume", peerAction((*replication.Peer).Resume))
	mux.HandleFunc("POST /replication/peers/{name}/reinit", func(w http.ResponseWriter, req *http.Request) { serveReinit(r, w, req) })
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// serveReinit starts reinitialising the replica from the peer named in
// the path, in the background, and answers 202 with the status.
func serveReinit(r *replication.Replicator, w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	if r.Peer(name) == nil {
		http.Error(w, "no such peer", http.StatusNotFound)
		return
	}
	chunk := 0
	if v := req.URL.Query().Get("chunk_bytes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			http.Error(w, "chunk_bytes: want a positive number", http.StatusBadRequest)
			return
		}
		chunk = n
	}
	switch err := r.StartReinit(name, chunk); {
	case errors.Is(err, replication.ErrNoPeer):
		http.Error(w, "no such peer", http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(r.ReinitStatus())
}
