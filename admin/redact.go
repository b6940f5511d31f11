package admin

import (
	"net/http"
	"strings"
)

// redacted replaces a secret in a command line.
const redacted = "REDACTED"

// RedactArgs returns a copy of a command line with the values of secret
// flags replaced: any flag whose last name segment (after the last dot)
// contains "password" or "secret", such as --root-password, given as
// --flag=value or as --flag value.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if !strings.HasPrefix(a, "-") || a == "--" {
			if a == "--" {
				break // what follows is not flags
			}
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !secretFlag(name) {
			continue
		}
		if hasValue {
			out[i] = a[:strings.IndexByte(a, '=')+1] + redacted
		} else if i+1 < len(out) && !strings.HasPrefix(out[i+1], "-") {
			out[i+1] = redacted
			i++
		}
	}
	return out
}

// secretFlag reports whether a flag name names a secret.
func secretFlag(name string) bool {
	name = strings.ToLower(name)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return strings.Contains(name, "password") || strings.Contains(name, "secret")
}

// cmdline serves the command line as net/http/pprof's Cmdline does
// (NUL-separated), with RedactArgs applied.
func cmdline(args []string) http.HandlerFunc {
	text := strings.Join(RedactArgs(args), "\x00")
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(text))
	}
}
