package admin

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"pbxha/pbx/auth"
	"pbxha/pbx/daemon"
	"pbxha/pbx/store"
)

func TestUserCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	var out bytes.Buffer
	steps := []struct {
		name    string
		run     func() error
		errPart string
		outPart string
	}{
		{"init", func() error { return Init(&out, data, "r1") }, "", `realm "r1"`},
		{"init again keeps realm", func() error { return Init(&out, data, "r2") }, "", `realm "r1"`},
		{"add", func() error {
			return AddUser(ctx, &out, data, NewUser{Ext: "100", Name: "Alice", Password: "s3cret", Record: true})
		}, "", "user 100 saved"},
		{"add without password", func() error { return AddUser(ctx, &out, data, NewUser{Ext: "101"}) }, "--password", ""},
		{"add bad ext", func() error { return AddUser(ctx, &out, data, NewUser{Ext: "a b", Password: "x"}) }, "invalid extension", ""},
		{"list", func() error { return ListUsers(ctx, &out, data) }, "", "100  Alice  yes"},
		{"del", func() error { return DelUser(ctx, &out, data, "100") }, "", "user 100 deleted"},
		{"del again", func() error { return DelUser(ctx, &out, data, "100") }, "no such user", ""},
		{"status without daemon", func() error { return Status(ctx, &out, data) }, "", "not running"},
		{"uninitialised", func() error { return ListUsers(ctx, &out, t.TempDir()) }, "not initialised", ""},
	}
	for _, st := range steps {
		out.Reset()
		err := st.run()
		if st.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), st.errPart) {
				t.Fatalf("%s: err = %v, want %q", st.name, err, st.errPart)
			}
			continue
		}
		if err != nil || !strings.Contains(out.String(), st.outPart) {
			t.Fatalf("%s: err = %v, output %q lacks %q", st.name, err, out.String(), st.outPart)
		}
	}
}

// TestAddUserStoresDigests: the password itself is never stored.
func TestAddUserStoresDigests(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	if err := Init(&bytes.Buffer{}, data, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(ctx, &bytes.Buffer{}, data, NewUser{Ext: "100", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.User(ctx, "100")
	if err != nil || u.HA1MD5 != auth.HA1(auth.MD5, "100", "r1", "s3cret") || u.HA1SHA256 != auth.HA1(auth.SHA256, "100", "r1", "s3cret") {
		t.Fatalf("user = %+v, %v", u, err)
	}
}

func TestPrintStatus(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	st := daemon.Status{
		Registrations: []store.Binding{{Ext: "100", Contact: "sip:100@127.0.0.1:5070", Received: "127.0.0.1:5070",
			Transport: "UDP", Expires: now.Add(90 * time.Second), UserAgent: "sipp"}},
		Calls: []daemon.CallStatus{{ID: "abc", Caller: "100", Callee: "200", State: "confirmed", Answer: now.Add(-time.Minute)}},
		RTP:   daemon.RTPTotals{FromCaller: 7, FromCallee: 5},
	}
	var out bytes.Buffer
	PrintStatus(&out, st, true, now)
	for _, want := range []string{"daemon: running", "REGISTRATIONS (1)", "sip:100@127.0.0.1:5070", "1m30s", "ACTIVE CALLS (1)", "confirmed", "1m0s", "7 from callers, 5 from callees"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestListCDRs: each call's line names its recording as a path under the
// data directory, "-" when it was not recorded.
func TestListCDRs(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	if err := Init(&bytes.Buffer{}, data, "r1"); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1_700_000_000, 0)
	for _, c := range []store.CDR{
		{Caller: "100", Callee: "200", ACallID: "a1", Start: start, Answer: start.Add(time.Second), End: start.Add(61 * time.Second),
			Disposition: store.Answered, SIPStatus: 200, HangupSide: "callee", Recording: "recordings/2023-11-14/x.wav"},
		{Caller: "200", Callee: "100", ACallID: "a2", Start: start, End: start.Add(time.Second),
			Disposition: store.Busy, SIPStatus: 486, HangupSide: "callee"},
	} {
		if err := s.AddCDR(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	var out bytes.Buffer
	if err := ListCDRs(ctx, &out, data, 10); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], "486     callee      -") ||
		!strings.Contains(lines[2], "1m0s") || !strings.HasSuffix(lines[2], data+"/recordings/2023-11-14/x.wav") {
		t.Fatalf("cdr list:\n%s", out.String())
	}
}
