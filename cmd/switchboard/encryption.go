package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
)

// EncryptionConfig is the encryption section: the master key of the
// store (directory/encryption.go) from a file or, when key_file is empty,
// the environment variable SWITCHBOARD_ENCRYPTION_KEY. Never from a flag
// or config.yaml, where it would be read by anyone who can read those.
type EncryptionConfig struct {
	KeyFile         string        `mapstructure:"key_file"`
	DataKeyRotation time.Duration `mapstructure:"data_key_rotation"`
	// Attributes are sealed value by value under a key derived from the
	// master key (directory/seal.go): not indexable, not in clear in the
	// changelog nor between multi-supplier replicas (which need the same
	// key and list); set in the file only.
	Attributes []string `mapstructure:"attributes"`
}

// envEncryptionKey names the environment variable holding the key.
const envEncryptionKey = "SWITCHBOARD_ENCRYPTION_KEY"

func (e *EncryptionConfig) validate() error {
	if e.DataKeyRotation < 0 {
		return errors.New("config: encryption.data_key_rotation must not be negative")
	}
	return nil
}

// key returns the master key: from KeyFile, else from the environment
// (getenv), else nil (a clear store).
func (e *EncryptionConfig) key(getenv func(string) string) ([]byte, error) {
	if e.KeyFile != "" {
		return readKeyFile(e.KeyFile)
	}
	if v := getenv(envEncryptionKey); v != "" {
		k, err := parseKey([]byte(v), false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envEncryptionKey, err)
		}
		return k, nil
	}
	return nil, nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	k, err := parseKey(b, true)
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: %w", path, err)
	}
	return k, nil
}

// parseKey decodes an AES key of 16, 24 or 32 bytes written as hex or as
// standard base64 (surrounding white space ignored) or, from a file
// (raw), as the bytes themselves: `openssl rand -hex 32`,
// `openssl rand -base64 32` and `head -c 32 /dev/urandom` all make one.
// Text that is valid hex of a key's length is read as hex first.
func parseKey(b []byte, raw bool) ([]byte, error) {
	t := bytes.TrimSpace(b)
	if k, err := hex.DecodeString(string(t)); err == nil && keyLen(len(k)) {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(string(t)); err == nil && keyLen(len(k)) {
		return k, nil
	}
	if raw && keyLen(len(b)) {
		return bytes.Clone(b), nil
	}
	return nil, errors.New("not a 16, 24 or 32-byte AES key in hex, base64 or raw bytes")
}

func keyLen(n int) bool { return n == 16 || n == 24 || n == 32 }

// cmdRekey re-encrypts the store's key registry under a new master key,
// offline: switchboard rekey --old-key-file A --new-key-file B.
func cmdRekey(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rekey")
	oldPath := fs.String("old-key-file", "", "file holding the current key (default: encryption.key_file or "+envEncryptionKey+")")
	newPath := fs.String("new-key-file", "", "file holding the new key (required)")
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: switchboard rekey --old-key-file A --new-key-file B [flags]\n\n"+
			"Re-encrypts the data keys of the stopped server's store (--data) under a new master key.\n"+
			"Start the server with the new key afterwards; the old one no longer opens the store.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	if *newPath == "" {
		return errors.New("rekey: --new-key-file is required")
	}
	var oldKey []byte
	if *oldPath != "" {
		oldKey, err = readKeyFile(*oldPath)
	} else {
		oldKey, err = cfg.Encryption.key(os.Getenv)
	}
	if err != nil {
		return err
	}
	newKey, err := readKeyFile(*newPath)
	if err != nil {
		return err
	}
	if err := directory.RekeyStore(cfg.Data, oldKey, newKey); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rekeyed %s; start the server with the new key\n", cfg.Data)
	return nil
}
