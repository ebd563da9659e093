package drbdvm

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var captureOut = flag.String("drbd84.out", "",
	"write the DRBD 8.4 captures of TestCapture84 under this directory (drbdctl/testdata/drbd84)")

// statusCommands are captured in every state.
var statusCommands = []namedCmd{
	{"proc_drbd", "cat /proc/drbd"},
	{"drbdadm_role", "drbdadm role " + Resource},
	{"drbdadm_cstate", "drbdadm cstate " + Resource},
	{"drbdadm_dstate", "drbdadm dstate " + Resource},
	{"drbdadm_sh_status", "drbdadm sh-status " + Resource},
	{"drbdsetup_status", "drbdsetup-84 status " + Resource + " --verbose --statistics"},
	{"drbdsetup_events2_now", "drbdsetup-84 events2 --now --statistics " + Resource},
}

type namedCmd struct{ name, cmd string }

// recorder runs capture commands in guests, checks them, and writes them
// (stdout as NAME.txt, stderr as NAME.stderr when not empty) with a
// manifest when -drbd84.out is set.
type recorder struct {
	t        *testing.T
	manifest []string
	files    map[string]string
}

// capture records statusCommands and extra in g under state, after
// checking that /proc/drbd shows want.
func (r *recorder) capture(g *Guest, state, want string, extra ...namedCmd) map[string]Result {
	r.t.Helper()
	results := map[string]Result{}
	for _, c := range append(append([]namedCmd{}, statusCommands...), extra...) {
		res := g.Exec(r.t, c.cmd)
		results[c.name] = res
		r.files[filepath.Join(state, c.name+".txt")] = res.Stdout
		if res.Stderr != "" {
			r.files[filepath.Join(state, c.name+".stderr")] = res.Stderr
		}
		r.manifest = append(r.manifest, fmt.Sprintf("%s\t%s\t%s\t%d\t%s", state, g.Name, c.name, res.Status, c.cmd))
	}
	if got := results["proc_drbd"].Stdout; !strings.Contains(got, want) {
		r.t.Fatalf("state %s on %s: /proc/drbd lacks %q:\n%s", state, g.Name, want, got)
	}
	return results
}

// write stores everything recorded under dir.
func (r *recorder) write(dir string) error {
	r.files["manifest.tsv"] = "# state\tnode\tname\texit status\tcommand\n" + strings.Join(r.manifest, "\n") + "\n"
	for name, data := range r.files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write captures: %w", err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return fmt.Errorf("write captures: %w", err)
		}
	}
	return nil
}

// TestCapture84 walks real DRBD 8.4 through the states drbdctl must parse
// and checks each (run with -args -drbd84.out=DIR to regenerate
// drbdctl/testdata/drbd84, see its README): unconfigured, WFConnection,
// Connected Inconsistent, SyncSource/SyncTarget with progress, Connected
// Primary/Secondary, promotion refused (no UpToDate data, peer Primary),
// split brain (StandAlone on both) and its recovery, Diskless.
func TestCapture84(t *testing.T) {
	c := Boot(t)
	c.ConfigureDRBD(t, "")
	a, b := c.A, c.B
	r := &recorder{t: t, files: map[string]string{}}
	const minute = time.Minute

	r.capture(a, "unconfigured", "version: 8.4")
	for _, g := range c.Guests() {
		g.Sh(t, "drbdsetup-84 events2 --timestamps --statistics all >/tmp/events2.log 2>&1 & echo $! >/run/events2.pid")
	}
	a.Sh(t, "drbdadm up "+Resource)
	a.AwaitDRBD(t, "cstate", "WFConnection", minute)
	r.capture(a, "wfconnection", "cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown")

	b.Sh(t, "drbdadm up "+Resource)
	a.AwaitDRBD(t, "cstate", "Connected", minute)
	res := r.capture(a, "connected-inconsistent", "cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent",
		namedCmd{"drbdadm_primary", "drbdadm primary " + Resource})
	if st := res["drbdadm_primary"].Status; st != 17 {
		t.Errorf("drbdadm primary without UpToDate data: status %d, want 17", st)
	}

	// Throttle the resync (fixed 1 MiB/s) so it is caught mid-way.
	for _, g := range c.Guests() {
		g.Sh(t, "drbdadm disk-options --c-plan-ahead=0 --resync-rate=1M "+Resource)
	}
	a.Sh(t, "drbdadm primary --force "+Resource)
	b.Await(t, "grep -q 'sync.ed: *[1-9]' /proc/drbd", minute)
	r.capture(a, "sync-source", "cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent")
	r.capture(b, "sync-target", "cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate")
	for _, g := range c.Guests() {
		g.Sh(t, "drbdadm disk-options --c-plan-ahead=0 --resync-rate=100M "+Resource)
	}
	c.AwaitSynced(t, 3*minute)
	r.capture(a, "connected-primary", "cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate")
	res = r.capture(b, "connected-secondary", "cs:Connected ro:Secondary/Primary ds:UpToDate/UpToDate",
		namedCmd{"drbdadm_primary", "drbdadm primary " + Resource})
	if st := res["drbdadm_primary"].Status; st != 11 {
		t.Errorf("drbdadm primary while the peer is Primary: status %d, want 11", st)
	}

	// Split brain: cut the link, promote B too, write on both, reconnect.
	c.SetLink(t, b, false)
	a.AwaitDRBD(t, "cstate", "WFConnection", minute)
	b.AwaitDRBD(t, "cstate", "WFConnection", minute)
	r.capture(a, "disconnected-primary", "cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown")
	b.Sh(t, "drbdadm primary "+Resource)
	for _, g := range c.Guests() {
		g.Sh(t, "dd if=/dev/urandom of="+Device+" bs=4k count=16 conv=fsync 2>/dev/null")
	}
	c.SetLink(t, b, true)
	a.AwaitDRBD(t, "cstate", "StandAlone", minute)
	b.AwaitDRBD(t, "cstate", "StandAlone", minute)
	kernelLog := namedCmd{"dmesg_drbd", "dmesg | grep -E 'drbd|block drbd'"}
	for _, g := range c.Guests() {
		res := r.capture(g, "split-brain-"+g.Name, "cs:StandAlone ro:Primary/Unknown ds:UpToDate/DUnknown", kernelLog)
		if !strings.Contains(res["dmesg_drbd"].Stdout, "Split-Brain detected") {
			t.Errorf("%s: kernel log does not report the split brain:\n%s", g.Name, res["dmesg_drbd"].Stdout)
		}
	}

	// Recovery: B's changes are discarded, A's win.
	b.Sh(t, "drbdadm secondary "+Resource+" && drbdadm connect --discard-my-data "+Resource)
	a.Sh(t, "drbdadm connect "+Resource)
	c.AwaitSynced(t, 3*minute)
	const sum = "sha256sum < " + Device
	sumA := a.Sh(t, sum)
	c.Switchover(t, a, b)
	if sumB := b.Sh(t, sum); sumA != sumB {
		t.Errorf("after split-brain recovery: %s has %s, %s has %s", a.Name, sumA, b.Name, sumB)
	}
	c.Switchover(t, b, a)

	b.Sh(t, "drbdadm detach "+Resource)
	r.capture(b, "diskless", "cs:Connected ro:Secondary/Primary ds:Diskless/UpToDate")
	r.capture(a, "peer-diskless", "cs:Connected ro:Primary/Secondary ds:UpToDate/Diskless")

	for _, g := range c.Guests() {
		r.files[filepath.Join("events2-timeline", g.Name+".txt")] = g.Sh(t, "kill $(cat /run/events2.pid) && cat /tmp/events2.log")
	}
	if *captureOut != "" {
		if err := r.write(*captureOut); err != nil {
			t.Fatal(err)
		}
		t.Logf("captures written to %s", *captureOut)
	}
}
