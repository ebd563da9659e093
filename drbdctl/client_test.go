package drbdctl_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"pbxha/drbdctl"
	"pbxha/drbdctl/drbdtest"
)

const events2 = "drbdsetup events2 --now --statistics pbx"

func rec(t *testing.T, name string) string { return drbdtest.File(t, "testdata/"+name) }

func newClient(s *drbdtest.Script) *drbdctl.Client {
	return &drbdctl.Client{Runner: s, RetryDelay: time.Millisecond, PollInterval: time.Millisecond, Attempts: 3}
}

func TestPrimary(t *testing.T) {
	multi := drbdtest.Call{Cmd: "drbdadm primary pbx", Code: 11, Stderr: rec(t, "runner/primary-multiple-primaries.stderr")}
	for _, tc := range []struct {
		name    string
		calls   []drbdtest.Call
		wantErr error // nil: success
		wantMsg string
	}{
		{"promotes", []drbdtest.Call{{Cmd: "drbdadm primary pbx"}}, nil, ""},
		{"peer demotes during retries", []drbdtest.Call{multi, {Cmd: "drbdadm primary pbx"}}, nil, ""},
		{"peer stays primary", []drbdtest.Call{multi, multi, multi}, drbdctl.ErrMultiplePrimaries, "after 3 attempts"},
		{"no UpToDate data is not retried",
			[]drbdtest.Call{{Cmd: "drbdadm primary pbx", Code: 11, Stderr: rec(t, "runner/primary-no-uptodate.stderr")}},
			drbdctl.ErrNoUpToDateData, "(-2) Need access to UpToDate data"},
		{"fencing pending then done",
			[]drbdtest.Call{{Cmd: "drbdadm primary pbx", Code: 11, Stderr: rec(t, "runner/primary-peer-not-outdated.stderr")}, {Cmd: "drbdadm primary pbx"}},
			nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := drbdtest.New(t, tc.calls...)
			err := newClient(s).Primary(context.Background(), "pbx")
			s.Done()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Primary: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Primary error = %v, want %v", err, tc.wantErr)
			}
			var sce *drbdctl.StateChangeError
			if !errors.As(err, &sce) || sce.Code >= 0 {
				t.Errorf("error %v carries no StateChangeError with the kernel's code", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), "promote pbx") {
				t.Errorf("error %q lacks %q or the resource name", err, tc.wantMsg)
			}
		})
	}
}

func TestSecondaryHeldOpenNamesHolder(t *testing.T) {
	held := drbdtest.Call{Cmd: "drbdadm secondary pbx", Code: 11, Stderr: rec(t, "runner/secondary-held-open.stderr")}
	s := drbdtest.New(t, held, held, held,
		drbdtest.Call{Cmd: events2, Stdout: rec(t, "drbd9/events2-now-3node-sync.txt")})
	c := newClient(s)
	c.Holders = func(dev string) ([]drbdctl.Holder, error) {
		if dev != "/dev/drbd0" {
			t.Errorf("holders asked for %s, want /dev/drbd0", dev)
		}
		return []drbdctl.Holder{{Kind: "mount", What: "/srv/pbxha"}, {Kind: "process", PID: 42, What: "pbx (pid 42)"}}, nil
	}
	err := c.Secondary(context.Background(), "pbx")
	s.Done()
	if !errors.Is(err, drbdctl.ErrHeldOpen) {
		t.Fatalf("Secondary error = %v, want ErrHeldOpen", err)
	}
	for _, want := range []string{"/dev/drbd0 is held by mount /srv/pbxha, process pbx (pid 42)", "after 3 attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestStatusNotConfigured(t *testing.T) {
	for _, file := range []string{"runner/events2-no-such-resource.stderr", "runner/events2-no-module.stderr"} {
		s := drbdtest.New(t, drbdtest.Call{Cmd: events2, Code: 10, Stderr: rec(t, file)})
		_, err := newClient(s).Status(context.Background(), "pbx")
		if !errors.Is(err, drbdctl.ErrNotConfigured) {
			t.Errorf("%s: Status error = %v, want ErrNotConfigured", file, err)
		}
	}
	// A dump that lists other resources only.
	s := drbdtest.New(t, drbdtest.Call{Cmd: "drbdsetup events2 --now --statistics other", Stdout: rec(t, "drbd9/events2-now-3node-sync.txt")})
	if _, err := newClient(s).Status(context.Background(), "other"); !errors.Is(err, drbdctl.ErrNotConfigured) {
		t.Errorf("Status of an absent resource = %v, want ErrNotConfigured", err)
	}
}

func TestUpDown(t *testing.T) {
	notUp := drbdtest.Call{Cmd: events2, Code: 10, Stderr: rec(t, "runner/events2-no-such-resource.stderr")}
	up := drbdtest.Call{Cmd: events2, Stdout: rec(t, "drbd9/events2-now-3node-sync.txt")}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		calls []drbdtest.Call
		act   func(*drbdctl.Client) error
	}{
		{"up runs drbdadm up", []drbdtest.Call{notUp, {Cmd: "drbdadm up pbx"}}, func(c *drbdctl.Client) error { return c.Up(ctx, "pbx") }},
		{"up is idempotent", []drbdtest.Call{up}, func(c *drbdctl.Client) error { return c.Up(ctx, "pbx") }},
		{"down runs drbdadm down", []drbdtest.Call{up, {Cmd: "drbdadm down pbx"}}, func(c *drbdctl.Client) error { return c.Down(ctx, "pbx") }},
		{"down of a down resource", []drbdtest.Call{notUp}, func(c *drbdctl.Client) error { return c.Down(ctx, "pbx") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := drbdtest.New(t, tc.calls...)
			if err := tc.act(newClient(s)); err != nil {
				t.Fatal(err)
			}
			s.Done()
		})
	}
}

func TestWaitSync(t *testing.T) {
	syncing := drbdtest.Call{Cmd: events2, Stdout: rec(t, "drbd9/events2-now-3node-sync.txt")}
	done := drbdtest.Call{Cmd: events2, Stdout: strings.NewReplacer(
		"replication:SyncSource peer-disk:Inconsistent", "replication:Established peer-disk:UpToDate",
		" done:50.00 dbdt1:32.00 eta:16", "", "out-of-sync:524252", "out-of-sync:0").Replace(syncing.Stdout)}
	s := drbdtest.New(t, syncing, syncing, done)
	var seen []float64
	r, err := newClient(s).WaitSync(context.Background(), "pbx", func(r drbdctl.Resource) {
		for _, rs := range r.Resyncs() {
			seen = append(seen, rs.Progress.PercentDone)
		}
	})
	s.Done()
	if err != nil {
		t.Fatal(err)
	}
	if !drbdctl.InSync(r) || len(seen) != 2 || seen[0] != 50 {
		t.Errorf("in sync %v, progress seen %v; want in sync after two polls at 50%%", drbdctl.InSync(r), seen)
	}
}

func TestWaitConnectStandAlone(t *testing.T) {
	s := drbdtest.New(t, drbdtest.Call{Cmd: events2, Stdout: rec(t, "drbd9/events2-split-brain.txt")})
	_, err := newClient(s).WaitConnect(context.Background(), "pbx", nil)
	if !errors.Is(err, drbdctl.ErrStandAlone) || !strings.Contains(err.Error(), "pbx-b") {
		t.Fatalf("WaitConnect = %v, want ErrStandAlone naming pbx-b", err)
	}
}

func TestWaitConnectTimeout(t *testing.T) {
	connecting := drbdtest.Call{Cmd: events2, Stdout: "exists resource name:pbx role:Secondary suspended:no\nexists connection name:pbx conn-name:pbx-b connection:Connecting role:Unknown\nexists -\n"}
	calls := make([]drbdtest.Call, 0, 1000)
	for range cap(calls) {
		calls = append(calls, connecting)
	}
	s := drbdtest.New(t, calls...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := newClient(s).WaitConnect(ctx, "pbx", nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "pbx-b Connecting") {
		t.Fatalf("WaitConnect = %v, want a deadline error saying pbx-b is Connecting", err)
	}
}

func TestResolveSplitBrain(t *testing.T) {
	standalone := drbdtest.Call{Cmd: events2, Stdout: rec(t, "drbd9/events2-split-brain.txt")}
	ctx := context.Background()
	t.Run("victim StandAlone", func(t *testing.T) {
		s := drbdtest.New(t, standalone,
			drbdtest.Call{Cmd: "drbdadm secondary pbx"},
			drbdtest.Call{Cmd: "drbdadm connect --discard-my-data pbx"})
		if err := newClient(s).ResolveSplitBrain(ctx, "pbx", true); err != nil {
			t.Fatal(err)
		}
		s.Done()
	})
	t.Run("victim on real DRBD 8.4", func(t *testing.T) {
		s := drbdtest.New(t, drbdtest.Call{Cmd: "drbdsetup events2 --now --statistics r0", Stdout: rec(t, "drbd84/split-brain-node-b/drbdsetup_events2_now.txt")},
			drbdtest.Call{Cmd: "drbdadm secondary r0"},
			drbdtest.Call{Cmd: "drbdadm connect --discard-my-data r0"})
		if err := newClient(s).ResolveSplitBrain(ctx, "r0", true); err != nil {
			t.Fatal(err)
		}
		s.Done()
	})
	t.Run("victim still connecting", func(t *testing.T) {
		s := drbdtest.New(t, drbdtest.Call{Cmd: events2, Stdout: "exists resource name:pbx role:Secondary suspended:no\n" +
			"exists connection name:pbx peer-node-id:1 conn-name:pbx-b connection:Connecting role:Unknown\nexists -\n"},
			drbdtest.Call{Cmd: "drbdadm disconnect pbx"},
			drbdtest.Call{Cmd: "drbdadm connect --discard-my-data pbx"})
		if err := newClient(s).ResolveSplitBrain(ctx, "pbx", true); err != nil {
			t.Fatal(err)
		}
		s.Done()
	})
	t.Run("survivor", func(t *testing.T) {
		s := drbdtest.New(t, standalone, drbdtest.Call{Cmd: "drbdadm connect pbx"})
		if err := newClient(s).ResolveSplitBrain(ctx, "pbx", false); err != nil {
			t.Fatal(err)
		}
		s.Done()
	})
}

func TestFollow(t *testing.T) {
	s := drbdtest.New(t, drbdtest.Call{Cmd: "drbdsetup events2 --timestamps pbx", Stdout: rec(t, "drbd9/events2-split-brain.txt")})
	var got []string
	if err := newClient(s).Follow(context.Background(), "pbx", func(c drbdctl.Change) { got = append(got, c.What()) }); err != nil {
		t.Fatal(err)
	}
	s.Done()
	if len(got) == 0 || got[len(got)-1] != "peer pbx-b connection: Disconnecting -> StandAlone" {
		t.Errorf("changes = %q, want the last to be the StandAlone transition", got)
	}
}
