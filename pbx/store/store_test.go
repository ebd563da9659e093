package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	dir := t.TempDir()
	if err := Init(dir, "test"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestInitLayoutAndIdempotence(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		if err := Init(dir, "r1"); err != nil {
			t.Fatalf("init #%d: %v", i, err)
		}
	}
	for _, d := range append(Subdirs, DBFile) {
		if _, err := os.Stat(filepath.Join(dir, d)); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	// A second init with another realm keeps the first one (users' digests depend on it).
	if err := Init(dir, "other"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, err := s.Realm(); err != nil || r != "r1" {
		t.Fatalf("realm = %q, %v; want r1", r, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	newer := t.TempDir()
	if err := Init(newer, "r"); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", dsn(newer, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version=%d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, tc := range []struct {
		name, dir, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope"), "not initialised"},
		{"empty", t.TempDir(), "not initialised"},
		{"newer schema", newer, "newer than this binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.dir)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if err := Init(newer, "r"); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("init on newer schema: %v", err)
	}
}

func TestUsers(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	for _, ext := range []string{"200", "100"} {
		if err := s.AddUser(ctx, User{Ext: ext, Name: "n" + ext, HA1MD5: "m" + ext, HA1SHA256: "s" + ext, Record: ext == "200"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddUser(ctx, User{Ext: "bad ext"}); err == nil {
		t.Fatal("invalid extension accepted")
	}
	us, err := s.Users(ctx)
	if err != nil || len(us) != 2 || us[0].Ext != "100" || us[1].HA1SHA256 != "s200" || us[0].Record || !us[1].Record {
		t.Fatalf("users = %+v, %v", us, err)
	}
	if u, err := s.User(ctx, "200"); err != nil || !u.Record {
		t.Fatalf("user 200 = %+v, %v; want recorded", u, err)
	}
	// Updating a user replaces its recording flag too.
	if err := s.AddUser(ctx, User{Ext: "200", HA1MD5: "m", HA1SHA256: "s"}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.User(ctx, "200"); err != nil || u.Record {
		t.Fatalf("user 200 after update = %+v, %v; want not recorded", u, err)
	}
	if err := s.DelUser(ctx, "100"); err != nil {
		t.Fatal(err)
	}
	if err := s.DelUser(ctx, "100"); !errors.Is(err, ErrNoUser) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.User(ctx, "100"); !errors.Is(err, ErrNoUser) {
		t.Fatalf("deleted user: %v", err)
	}
}

func TestRegister(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if err := s.AddUser(ctx, User{Ext: "100", HA1MD5: "x", HA1SHA256: "y"}); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	b := func(c string, exp time.Duration) Binding {
		return Binding{Contact: c, Expires: now.Add(exp), Received: "127.0.0.1:5070", Transport: "UDP"}
	}
	steps := []struct {
		name    string
		reg     Registration
		want    []string
		wantErr error
	}{
		{"first", Registration{CallID: "c1", CSeq: 1, Contacts: []Binding{b("sip:a@h", time.Hour)}}, []string{"sip:a@h"}, nil},
		{"second contact", Registration{CallID: "c2", CSeq: 1, Contacts: []Binding{b("sip:b@h", time.Hour)}}, []string{"sip:a@h", "sip:b@h"}, nil},
		{"replayed cseq", Registration{CallID: "c1", CSeq: 1, Contacts: []Binding{b("sip:a@h", time.Hour)}}, nil, ErrOutOfOrder},
		{"refresh", Registration{CallID: "c1", CSeq: 2, Contacts: []Binding{b("sip:a@h", time.Minute)}}, []string{"sip:a@h", "sip:b@h"}, nil},
		{"unregister one", Registration{CallID: "c2", CSeq: 2, Contacts: []Binding{b("sip:b@h", 0)}}, []string{"sip:a@h"}, nil},
		{"fetch only", Registration{CallID: "c3", CSeq: 1}, []string{"sip:a@h"}, nil},
		{"remove all", Registration{CallID: "c3", CSeq: 2, RemoveAll: true}, nil, nil},
	}
	for _, st := range steps {
		st.reg.Ext = "100"
		got, err := s.Register(ctx, st.reg, now)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: err = %v, want %v", st.name, err, st.wantErr)
		}
		if err != nil {
			continue
		}
		var cs []string
		for _, g := range got {
			cs = append(cs, g.Contact)
		}
		if strings.Join(cs, ",") != strings.Join(st.want, ",") {
			t.Fatalf("%s: bindings %v, want %v", st.name, cs, st.want)
		}
	}
	// Expiry: a binding that lapsed is invisible, then purged.
	if _, err := s.Register(ctx, Registration{Ext: "100", CallID: "c4", CSeq: 1, Contacts: []Binding{b("sip:c@h", 10*time.Second)}}, now); err != nil {
		t.Fatal(err)
	}
	later := now.Add(11 * time.Second)
	if got, _ := s.Lookup(ctx, "100", later); len(got) != 0 {
		t.Fatalf("expired binding still returned: %+v", got)
	}
	if n, err := s.PurgeExpired(ctx, later); err != nil || n != 1 {
		t.Fatalf("purge = %d, %v", n, err)
	}
	// Unknown extension: the foreign key refuses the binding.
	if _, err := s.Register(ctx, Registration{Ext: "999", CallID: "x", CSeq: 1, Contacts: []Binding{b("sip:z@h", time.Hour)}}, now); err == nil {
		t.Fatal("binding for unknown user accepted")
	}
}

// TestGroupCommit checks that concurrent writes share transactions, each
// caller returns only after its row is durable, and a failing write does not
// spoil its batch mates.
func TestGroupCommit(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	const n = 400
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ext := fmt.Sprint(1000 + i)
			if i%50 == 0 {
				ext = "bad ext" // rejected before queueing
			}
			errs[i] = s.AddUser(ctx, User{Ext: ext, HA1MD5: "a", HA1SHA256: "b"})
		}(i)
	}
	wg.Wait()
	// A write failing inside the transaction (deleting a missing user) is isolated.
	if err := s.DelUser(ctx, "nobody"); !errors.Is(err, ErrNoUser) {
		t.Fatalf("delete missing: %v", err)
	}
	bad := 0
	for _, err := range errs {
		if err != nil {
			bad++
		}
	}
	s.Close()
	// Reopen: everything acknowledged is there.
	s2, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	us, err := s2.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bad != n/50 || len(us) != n-bad {
		t.Fatalf("bad=%d users=%d, want %d and %d", bad, len(us), n/50, n-n/50)
	}
	if err := s.AddUser(ctx, User{Ext: "1"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestCDR(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	start := time.UnixMilli(1_700_000_000_000)
	in := []CDR{
		{Caller: "100", Callee: "200", ACallID: "a1", BCallID: "b1", Start: start, Answer: start.Add(time.Second),
			End: start.Add(11 * time.Second), Disposition: Answered, SIPStatus: 200, HangupSide: "caller",
			Recording: "recordings/2023-11-14/a1.wav"},
		{Caller: "100", Callee: "300", ACallID: "a2", Start: start, End: start.Add(time.Second),
			Disposition: Busy, SIPStatus: 486, HangupSide: "callee"},
	}
	for _, c := range in {
		if err := s.AddCDR(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.CDRs(ctx, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("cdrs = %+v, %v", got, err)
	}
	if got[1].Duration() != 10*time.Second || !got[1].Answer.Equal(in[0].Answer) || got[0].Duration() != 0 || got[0].Disposition != Busy ||
		got[1].Recording != in[0].Recording || got[0].Recording != "" {
		t.Fatalf("cdrs = %+v", got)
	}
}

// The nonce key is made once and then is the same for every process that
// opens the volume: the PBX on the node taking over after a failover.
func TestNonceKeyLivesOnTheVolume(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, "pbx.test"); err != nil {
		t.Fatal(err)
	}
	keyOf := func() []byte {
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		k, err := s.NonceKey(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	first, second := keyOf(), keyOf()
	if len(first) != 32 || !bytes.Equal(first, second) {
		t.Fatalf("nonce key changed across opens: %x then %x", first, second)
	}
	other := t.TempDir()
	if err := Init(other, "pbx.test"); err != nil {
		t.Fatal(err)
	}
	s, err := Open(other)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if k, _ := s.NonceKey(context.Background()); bytes.Equal(k, first) {
		t.Fatal("two volumes share a nonce key")
	}
}
