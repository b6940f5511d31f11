package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/web/carddav"
)

// importVCards stores the cards of .vcf files in a personal address book
// of an existing store, offline (as export --format vcard reads it),
// creating the book if missing. Each card is one write: a card that does
// not parse or is over the CardDAV limits is reported by file and
// position and skipped, and the others are stored. A card is named after
// its UID (carddav.ImportName), so importing it again replaces it.
func importVCards(ctx context.Context, cfg *Config, owner, book string, files []string, stdout, stderr io.Writer) error {
	if err := carddav.CheckBookName(book); err != nil {
		return fmt.Errorf("import: --addressbook %q: %w", book, err)
	}
	// Read every file first: a missing one must not leave half an import.
	inputs := make([][]byte, len(files))
	for i, name := range files {
		var err error
		if name == "-" {
			inputs[i], err = io.ReadAll(os.Stdin)
		} else {
			inputs[i], err = os.ReadFile(name)
		}
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	eng, err := openExisting(cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer eng.Close()
	ctx = directory.WithIdentity(ctx, cfg.RootDN)
	ownerEntry, err := eng.Get(ctx, owner)
	if err != nil {
		return fmt.Errorf("import: --owner %q: %w", owner, err)
	}
	bookDN := carddav.BookDN(ownerEntry.DN, book)
	if _, err := eng.Get(ctx, bookDN); isNoSuchObject(err) {
		_, err = eng.Add(ctx, bookDN, []directory.Attr{
			{Name: "objectClass", Values: [][]byte{[]byte(carddav.ClassAddressBook)}},
			{Name: carddav.AttrName, Values: [][]byte{[]byte(book)}},
		}, directory.WriteOptions{})
		if err != nil {
			return fmt.Errorf("import: create the address book %s: %w", bookDN, err)
		}
	} else if err != nil {
		return fmt.Errorf("import: read the address book %s: %w", bookDN, err)
	}
	lim := carddav.Limits{MaxCardBytes: cfg.CardDAV.MaxCardBytes, MaxPhotoBytes: cfg.CardDAV.MaxPhotoBytes}
	var added, replaced, refused int
	for i, data := range inputs {
		for j, ch := range carddav.Split(data) {
			where := fmt.Sprintf("%s: card %d (line %d)", files[i], j+1, ch.Line)
			c, err := lim.Check(ch.Data)
			if err == nil {
				var isNew bool
				isNew, err = storeCard(ctx, eng, bookDN, carddav.ImportName(c, ch.Data), ch.Data)
				if isNew {
					added++
				} else if err == nil {
					replaced++
				}
			}
			if err != nil {
				refused++
				fmt.Fprintf(stderr, "%s: refused: %v\n", where, err)
			}
		}
	}
	if err := eng.Sync(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d cards into %s (%d new, %d replaced), %d refused\n", added+replaced, bookDN, added, replaced, refused)
	if refused > 0 {
		return fmt.Errorf("import: %d cards refused (see above); the others were stored", refused)
	}
	return nil
}

// storeCard adds the card named name to the book, or replaces the vCard
// of the card of that name; isNew reports an add.
func storeCard(ctx context.Context, eng *directory.Engine, bookDN, name string, data []byte) (isNew bool, err error) {
	dn := carddav.CardDN(bookDN, name)
	_, err = eng.Modify(ctx, dn, []directory.Mod{{Op: change.ModReplace,
		Attr: directory.Attr{Name: carddav.AttrVCard, Values: [][]byte{data}}}}, directory.WriteOptions{})
	if !isNoSuchObject(err) {
		return false, err
	}
	_, err = eng.Add(ctx, dn, []directory.Attr{
		{Name: "objectClass", Values: [][]byte{[]byte(carddav.ClassCard)}},
		{Name: carddav.AttrName, Values: [][]byte{[]byte(name)}},
		{Name: carddav.AttrVCard, Values: [][]byte{data}},
	}, directory.WriteOptions{})
	return err == nil, err
}

func isNoSuchObject(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.Code == ldap.NoSuchObject
}
