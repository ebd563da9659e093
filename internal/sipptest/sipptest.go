// Package sipptest holds what the tests driving real sipp clients share:
// reading sipp's final statistics, the digest injection field its
// scenarios take, and a data directory provisioned with extensions.
package sipptest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"pbxha/pbx/auth"
	"pbxha/pbx/store"
)

var count = regexp.MustCompile(`(Successful|Failed) call\s*\|\s*\d+\s*\|\s*(\d+)`)

// Counts reads the cumulative successful and failed calls from sipp's
// final statistics screen (the last one printed wins).
func Counts(out string) (ok, failed int) {
	for _, m := range count.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "Successful" {
			ok = n
		} else {
			failed = n
		}
	}
	return ok, failed
}

// AuthField is the injection-file field sipp's [authentication] keyword
// takes for extension ext with the password Provision gives it.
func AuthField(ext string) string {
	return fmt.Sprintf("[authentication username=%s password=pw%s]", ext, ext)
}

// Provision initialises a data directory for realm with extensions exts
// (password pw<ext>) and returns the open store (closed when the test ends)
// and a pbx settings file that challenges MD5 first: sipp answers only the
// first challenge and knows only MD5.
func Provision(t testing.TB, realm string, exts ...string) (data string, st *store.Store, config string) {
	t.Helper()
	data = t.TempDir()
	if err := store.Init(data, realm); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, e := range exts {
		u := store.User{Ext: e, HA1MD5: auth.HA1(auth.MD5, e, realm, "pw"+e), HA1SHA256: auth.HA1(auth.SHA256, e, realm, "pw"+e)}
		if err := st.AddUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	config = filepath.Join(t.TempDir(), "pbx.json")
	if err := os.WriteFile(config, []byte(`{"digest_algorithms": ["MD5", "SHA-256"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return data, st, config
}
