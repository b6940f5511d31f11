package audit

import "fmt"

// Summary describes a verified chain.
type Summary struct {
	Files   int
	Records int
	Start   Digest // "previous" of the first file: Genesis, or the end of an older file not given
	Head    Digest // chain value of the last record
}

// File is one audit file to verify: its name (for messages) and bytes.
type File struct {
	Name string
	Data []byte
}

// Verify checks the chain over files, oldest first (FILE.N ... FILE.1,
// FILE): every record of every file, and that each file continues the
// one before it. It returns the first break as a *VerifyError; a file
// that ends inside a record is such an error too (Truncated).
func Verify(files []File) (*Summary, error) {
	sum := &Summary{}
	for i, f := range files {
		seg, verr := parseFile(f.Name, f.Data)
		if verr != nil {
			return sum, verr
		}
		if i == 0 {
			sum.Start = seg.Previous
		} else if seg.Previous != sum.Head {
			return sum, &VerifyError{File: f.Name, Line: 2, Msg: fmt.Sprintf(
				"header: previous %s is not the last chain value of %s (%s): a file or records in between are missing, or the files are out of order",
				seg.Previous, files[i-1].Name, sum.Head)}
		}
		sum.Head = seg.Head
		sum.Files++
		sum.Records += seg.Records
	}
	return sum, nil
}
