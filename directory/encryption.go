package directory

// Encryption at rest.
//
// Badger encrypts every table and value-log file with AES in CTR mode
// under data keys, which it generates and rotates itself (a new one every
// Options.DataKeyRotation) and keeps in the KEYREGISTRY file of the store,
// encrypted under the master key, Options.EncryptionKey. The registry
// starts with a sanity block encrypted under the master key: opening a
// store with the wrong key, without a key when it has one, or with one
// when it has none fails on that block, before any data is read.
//
// Changing the master key rewrites only the registry (RekeyStore): the
// data keys, and so the data files, stay as they are. That makes a rekey
// instant and atomic (the new registry is written aside and renamed over
// the old one), and means an old master key that leaks together with an
// old copy of KEYREGISTRY still opens the data: rotate data keys by
// re-importing an export when that matters.
//
// Encryption is chosen when the store is created. An existing clear store
// is encrypted, or an encrypted one decrypted, by export and import.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrEncryptionKey is wrapped by the errors of opening a store with the
// wrong encryption key, or without one when it is encrypted, or with one
// when it is not.
var ErrEncryptionKey = errors.New("directory: encryption key does not fit the store")

const defaultDataKeyRotation = 10 * 24 * time.Hour

func dataKeyRotation(opt Options) time.Duration {
	if opt.DataKeyRotation > 0 {
		return opt.DataKeyRotation
	}
	return defaultDataKeyRotation
}

// openError explains a failure to open the Badger store, telling the
// three key mismatches apart.
func openError(opt Options, err error) error {
	switch {
	case errors.Is(err, badger.ErrInvalidEncryptionKey):
		return fmt.Errorf("%w: it must be 16, 24 or 32 bytes (AES-128, -192 or -256), not %d", ErrEncryptionKey, len(opt.EncryptionKey))
	case !errors.Is(err, badger.ErrEncryptionKeyMismatch):
		return fmt.Errorf("directory: open store: %w", err)
	case len(opt.EncryptionKey) == 0:
		return fmt.Errorf("%w: the store in %s is encrypted; give its key (encryption.key_file or SWITCHBOARD_ENCRYPTION_KEY)", ErrEncryptionKey, opt.Dir)
	case registryOpens(opt.Dir, nil):
		return fmt.Errorf("%w: the store in %s is not encrypted, but a key was given (encrypt a store by export and import)", ErrEncryptionKey, opt.Dir)
	}
	return fmt.Errorf("%w: the store in %s is encrypted with another key", ErrEncryptionKey, opt.Dir)
}

// registryOpens reports whether the key registry in dir opens with key.
func registryOpens(dir string, key []byte) bool {
	_, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true, EncryptionKey: key})
	return err == nil
}

// RekeyStore re-encrypts the key registry of the closed store in dir from
// the master key oldKey to newKey (see the package notes above). Both keys
// must be given: a clear store has no data keys to protect, and is
// encrypted by export and import instead.
func RekeyStore(dir string, oldKey, newKey []byte) error {
	if len(oldKey) == 0 || len(newKey) == 0 {
		return errors.New("directory: rekey needs the old and the new key (a clear store is encrypted by export and import)")
	}
	if _, err := os.Stat(filepath.Join(dir, badger.KeyRegistryFileName)); err != nil {
		return fmt.Errorf("directory: rekey: no store in %s: %w", dir, err)
	}
	if storeHasSealed(dir) {
		return fmt.Errorf("directory: rekey refused: the store in %s holds sealed attributes (encryption.attributes), whose key derives from the master key; change the key by export with the old key and import with the new one", dir)
	}
	// Badger's directory lock keeps a running server and a rekey apart.
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.Close()
	opt := badger.KeyRegistryOptions{Dir: dir, ReadOnly: true, EncryptionKey: oldKey, EncryptionKeyRotationDuration: defaultDataKeyRotation}
	kr, err := badger.OpenKeyRegistry(opt)
	if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
		return fmt.Errorf("%w: the old key does not open the store in %s", ErrEncryptionKey, dir)
	}
	if err != nil {
		return fmt.Errorf("directory: rekey: %w", err)
	}
	opt.EncryptionKey = newKey
	if err := badger.WriteKeyRegistry(kr, opt); err != nil {
		return fmt.Errorf("directory: rekey: %w", err)
	}
	return nil
}
