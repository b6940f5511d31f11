package directory

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkAdd adds one person per iteration through the write path
// (in memory): the DN, child and index keys, with takeDN's read of the
// DN key.
func BenchmarkAdd(b *testing.B) {
	e := openTest(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		uid := "u" + strconv.Itoa(i)
		if _, err := e.Add(ctx, "uid="+uid+",ou=people,dc=example,dc=com", person(uid, "User "+uid, "User"), WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
