package sipptest

import (
	"os"
	"testing"
)

// testdata/sipp-uac-2calls.txt is sipp 3.6.1's output for 2 calls of its
// built-in uac scenario against its built-in uas, on 127.0.0.1.
func TestCounts(t *testing.T) {
	b, err := os.ReadFile("testdata/sipp-uac-2calls.txt")
	if err != nil {
		t.Fatal(err)
	}
	if ok, failed := Counts(string(b)); ok != 2 || failed != 0 {
		t.Errorf("Counts = %d ok, %d failed; want 2, 0", ok, failed)
	}
	if ok, failed := Counts("no statistics"); ok != 0 || failed != 0 {
		t.Errorf("Counts(garbage) = %d, %d", ok, failed)
	}
}

func TestProvision(t *testing.T) {
	data, st, cfg := Provision(t, "pbx.test", "100", "200")
	users, err := st.Users(t.Context())
	if err != nil || len(users) != 2 {
		t.Fatalf("users = %v, %v", users, err)
	}
	if _, err := os.Stat(cfg); err != nil || data == "" {
		t.Fatalf("config %s: %v", cfg, err)
	}
	if AuthField("100") != "[authentication username=100 password=pw100]" {
		t.Errorf("AuthField = %q", AuthField("100"))
	}
}
