package main

// TLS configuration of `switchboard serve`: the certificate and key files,
// reloaded without a restart when they change, and the optional client CAs.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are
// looked at for changes (on the next handshake after it has passed).
const certCheckInterval = 2 * time.Second

// certReloader serves the certificate in certFile and keyFile, loading the
// pair again when either file's modification time or size changes. A pair
// that fails to load (half written, mismatched) is logged and the previous
// one kept; the next check tries again.
type certReloader struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	checked time.Time
}

// fileStamp identifies a version of a file well enough to notice a change.
type fileStamp struct {
	mod  time.Time
	size int64
}

func statStamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// newCertReloader loads the pair once; an error here stops the server.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, interval: certCheckInterval, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	r.checked = time.Now()
	return r, nil
}

// load reads both files and takes the pair. r.mu is held or r is new.
func (r *certReloader) load() error {
	cs, err := statStamp(r.certFile)
	if err != nil {
		return fmt.Errorf("tls.cert_file: %w", err)
	}
	ks, err := statStamp(r.keyFile)
	if err != nil {
		return fmt.Errorf("tls.key_file: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls.cert_file %s, tls.key_file %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.stamp = &cert, [2]fileStamp{cs, ks}
	return nil
}

// GetCertificate is the tls.Config hook.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= r.interval {
		r.checked = now
		r.reloadIfChanged()
	}
	return r.cert, nil
}

// reloadIfChanged loads the pair again if either file changed. r.mu is held.
func (r *certReloader) reloadIfChanged() {
	cs, err1 := statStamp(r.certFile)
	ks, err2 := statStamp(r.keyFile)
	if err := errors.Join(err1, err2); err != nil {
		r.log.Warn("TLS certificate files unreadable; keeping the loaded certificate", "err", err)
		return
	}
	if [2]fileStamp{cs, ks} == r.stamp {
		return
	}
	if err := r.load(); err != nil {
		r.log.Warn("TLS certificate changed but does not load; keeping the previous one", "err", err)
		return
	}
	leaf := r.cert.Leaf
	if leaf != nil {
		r.log.Info("TLS certificate reloaded", "subject", leaf.Subject.String(), "serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter)
	} else {
		r.log.Info("TLS certificate reloaded")
	}
}

// intermediateSuites are the TLS 1.2 suites of Mozilla's "intermediate"
// profile that Go implements: ECDHE key exchange with AES-GCM or
// ChaCha20-Poly1305, no CBC (Go's defaults still offer the CBC-SHA
// suites). TLS 1.3 suites are not configurable and all fit the profile.
var intermediateSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLS builds the server's TLS configuration from the tls.* keys, or
// returns nil when no certificate is configured (TLS off). With
// tls.ca_file set, clients are asked for a certificate (not required) and
// one that verifies against those CAs becomes the connection's TLS
// identity.
func serverTLS(cfg *Config, log *slog.Logger) (*tls.Config, error) {
	t := &cfg.TLS
	if t.CertFile == "" && t.KeyFile == "" {
		switch {
		case cfg.ListenLDAPS != "":
			return nil, errors.New("config: listen_ldaps needs tls.cert_file and tls.key_file")
		case t.Require != "" && t.Require != "none":
			return nil, fmt.Errorf("config: tls.require %q needs tls.cert_file and tls.key_file", t.Require)
		case t.CAFile != "":
			return nil, errors.New("config: tls.ca_file needs tls.cert_file and tls.key_file")
		}
		return nil, nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("config: tls.cert_file and tls.key_file go together")
	}
	rl, err := newCertReloader(t.CertFile, t.KeyFile, log)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   intermediateSuites,
		GetCertificate: rl.GetCertificate,
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) || !bytes.Contains(pem, []byte("CERTIFICATE")) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificates", t.CAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, nil
}
