package main

// `switchboard cert`: a development CA and a server certificate signed by
// it, for trying StartTLS and LDAPS without a real PKI.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// The files `switchboard cert` writes into --dir.
const (
	certCAFile        = "ca.pem"
	certCAKeyFile     = "ca-key.pem"
	certServerFile    = "server.pem"
	certServerKeyFile = "server-key.pem"
)

func cmdCert(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("cert", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory to write ca.pem, ca-key.pem, server.pem and server-key.pem into (required)")
	hosts := fs.StringSlice("hosts", []string{"localhost", "127.0.0.1", "::1"}, "host names and IP addresses the server certificate is valid for")
	days := fs.Int("days", 825, "validity of the certificates in days")
	force := fs.Bool("force", false, "overwrite existing files")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: switchboard cert --dir DIR [--hosts localhost,127.0.0.1,::1] [--days 825] [--force]\n\n"+
			"Writes a development CA (ECDSA P-256) and a server certificate signed by it.\n"+
			"Not for production: the CA key sits next to the certificates.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *dir == "":
		fs.Usage()
		return errors.New("cert: --dir is required")
	case *days < 1:
		return fmt.Errorf("cert: --days %d: must be at least 1", *days)
	case len(*hosts) == 0:
		return errors.New("cert: --hosts is empty")
	}
	files := []string{certCAFile, certCAKeyFile, certServerFile, certServerKeyFile}
	if !*force {
		for _, f := range files {
			p := filepath.Join(*dir, f)
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("cert: %s exists; use --force to overwrite", p)
			}
		}
	}
	out, err := makeDevCerts(*hosts, time.Duration(*days)*24*time.Hour, time.Now())
	if err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("cert: %w", err)
	}
	// Keys first, so that a server watching server.pem never pairs a new
	// certificate with the old key for longer than one reload check.
	for _, w := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{certCAKeyFile, out.caKey, 0o600},
		{certCAFile, out.caCert, 0o644},
		{certServerKeyFile, out.serverKey, 0o600},
		{certServerFile, out.serverCert, 0o644},
	} {
		if err := writeFileAtomic(filepath.Join(*dir, w.name), w.data, w.mode); err != nil {
			return fmt.Errorf("cert: %w", err)
		}
	}
	fmt.Fprintf(stdout, "Wrote a development CA and a server certificate for %s to %s:\n"+
		"  %s       the CA; give it to clients (LDAPTLS_CACERT=%s)\n"+
		"  %s   the CA's key (keep it or delete it)\n"+
		"  %s   --tls.cert-file\n"+
		"  %s  --tls.key-file\n",
		strings.Join(*hosts, ", "), *dir,
		certCAFile, filepath.Join(*dir, certCAFile), certCAKeyFile, certServerFile, certServerKeyFile)
	return nil
}

// devCerts are PEM blocks.
type devCerts struct {
	caCert, caKey, serverCert, serverKey []byte
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// makeDevCerts creates a CA and a server certificate for hosts (DNS names
// or IP addresses), valid from an hour before now for validity.
func makeDevCerts(hosts []string, validity time.Duration, now time.Time) (*devCerts, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caSerial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	srvSerial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := now.Add(-time.Hour), now.Add(validity)
	ca := &x509.Certificate{
		SerialNumber:          caSerial,
		Subject:               pkix.Name{Organization: []string{"Switchboard"}, CommonName: "Switchboard development CA " + now.UTC().Format("2006-01-02 15:04:05")},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	srv := &x509.Certificate{
		SerialNumber: srvSerial,
		Subject:      pkix.Name{Organization: []string{"Switchboard"}, CommonName: strings.TrimSpace(hosts[0])},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			srv.IPAddresses = append(srv.IPAddresses, ip)
		} else {
			srv.DNSNames = append(srv.DNSNames, h)
		}
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caKeyDER, err := x509.MarshalPKCS8PrivateKey(caKey)
	if err != nil {
		return nil, err
	}
	srvKeyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		return nil, err
	}
	return &devCerts{
		caCert:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		caKey:      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: caKeyDER}),
		serverCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		serverKey:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: srvKeyDER}),
	}, nil
}

// writeFileAtomic writes data to a temporary file with mode perm in the
// same directory and renames it over path, so that readers (a server
// reloading its certificate) never see half a file, and an existing file's
// looser mode is not kept.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}
