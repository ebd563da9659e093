package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"pbxha/internal/recordingtest"
	"pbxha/internal/sipptest"
	"pbxha/internal/testenv"
)

const (
	callerExt, calleeExt                = "100", "200"
	callerPort, calleePort, calleeMedia = 5080, 5070, 6000
)

// sippIn returns sipp run in the client namespace, in dir, with no
// keyboard and sipp's own global timeout plus a hard one.
func sippIn(t *testing.T, ctx context.Context, dir string, limit time.Duration, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(ctx, limit+10*time.Second)
	t.Cleanup(cancel)
	args = append([]string{"netns", "exec", ClientNS, "sipp"}, args...)
	args = append(args, "-nostdin", "-trace_err", "-timeout", fmt.Sprintf("%ds", int(limit.Seconds())))
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Dir = dir
	return cmd
}

var activeCalls = regexp.MustCompile(`ACTIVE CALLS \((\d+)\)`)

// confirmedCalls reads `pbx status` on node.
func confirmedCalls(ctx context.Context, node, pbxBin string) (int, error) {
	out, err := On(ctx, node, pbxBin, "status", "--data", DataDir)
	if err != nil {
		return 0, err
	}
	m := activeCalls.FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("pbx status: no call count in %q", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n, nil
}

// TestCallsSurviveNodeFailure places calls from the client through the PBX
// on the VIP, hard-kills the node running the PBX while the calls are up,
// and expects every call to end normally afterwards: the caller's BYEs
// reach the PBX on the node that took over (which restored the calls from
// the dialog journal on the moved volume) and are answered, the callee gets
// them, sipp counts no failed call, and each call's recording, written by
// both nodes into one file on the moved volume, holds the audio from before
// the kill and after the failover.
func TestCallsSurviveNodeFailure(t *testing.T) {
	testenv.RequireTool(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bins := upLab(t, ctx)
	r, _ := load(t, ctx, 2*time.Minute, "pbx.crm").Resource("pbx")
	active := r.Node()
	for _, ext := range []string{callerExt, calleeExt} {
		args := []string{bins.PBX, "user", "add", "--data", DataDir, ext, "--password", "pw" + ext}
		if ext == calleeExt {
			args = append(args, "--record")
		}
		if _, err := On(ctx, active, args...); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	sc := filepath.Join(testenv.RepoRoot(t), "test")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vip := VIP.String() + ":5060"

	// The callee registers, then answers with sipp's RTP echo on its media port.
	reg := write("register.csv", fmt.Sprintf("SEQUENTIAL\n%s;%s;%s:%d\n", calleeExt, sipptest.AuthField(calleeExt), ClientIP, calleePort))
	if out, err := sippIn(t, ctx, dir, time.Minute, vip, "-sf", filepath.Join(sc, "sipp", "register.xml"), "-inf", reg,
		"-i", ClientIP.String(), "-p", strconv.Itoa(calleePort+1), "-m", "1").CombinedOutput(); err != nil {
		t.Fatalf("callee REGISTER: %v\n%s", err, tail(string(out), 2000))
	}
	const n, hold = 10, 40 * time.Second
	// A tone for the whole call: phones keep talking across the failover
	// (sipp's own pcap lasts 7 s, after which the restored calls would
	// fall silent and meet the PBX's RTP timeout).
	sipptest.WriteTonePCAP(t, filepath.Join(dir, "audio.pcap"), hold+30*time.Second)
	callee := sippIn(t, ctx, dir, 5*time.Minute, "-sf", filepath.Join(sc, "recovery", "testdata", "callee.xml"),
		"-i", ClientIP.String(), "-p", strconv.Itoa(calleePort), "-mp", strconv.Itoa(calleeMedia), "-rtp_echo",
		"-key", "echo_port", strconv.Itoa(calleeMedia), "-m", strconv.Itoa(n))
	var calleeOut, callerOut strings.Builder
	callee.Stdout, callee.Stderr = &calleeOut, &calleeOut
	if err := callee.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = callee.Process.Kill(); _ = callee.Wait() })
	calls := write("calls.csv", fmt.Sprintf("SEQUENTIAL\n%s;%s;%s\n", callerExt, calleeExt, sipptest.AuthField(callerExt)))
	caller := sippIn(t, ctx, dir, 5*time.Minute, vip, "-sf", filepath.Join(sc, "recovery", "testdata", "caller.xml"), "-inf", calls,
		"-i", ClientIP.String(), "-p", strconv.Itoa(callerPort), "-mp", strconv.Itoa(callerPort+100),
		"-m", strconv.Itoa(n), "-r", "5", "-d", strconv.Itoa(int(hold.Milliseconds())))
	caller.Stdout, caller.Stderr = &callerOut, &callerOut
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caller.Process.Kill(); _ = caller.Wait() })

	if err := waitFor(ctx, 30*time.Second, func() bool { k, _ := confirmedCalls(ctx, active, bins.PBX); return k == n }); err != nil {
		k, err2 := confirmedCalls(ctx, active, bins.PBX)
		t.Fatalf("%d of %d calls up on %s before the kill (%v)\ncaller:\n%s", k, n, active, err2, tail(callerOut.String(), 2000))
	}
	time.Sleep(3 * time.Second) // every call talks a while before the kill: its recording has a "before"
	kill := time.Now()
	if err := KillNode(active); err != nil {
		t.Fatal(err)
	}
	survivor := Nodes[(slices.Index(Nodes, active)+1)%len(Nodes)]
	c, err := WaitCluster(ctx, survivor, time.Minute, func(c *Cluster) bool {
		r, ok := c.Resource("pbx")
		return ok && r.Running() && r.Node() != active
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = c.Resource("pbx")
	var restored int
	err = waitFor(ctx, 30*time.Second, func() bool {
		var err error
		restored, err = confirmedCalls(ctx, r.Node(), bins.PBX)
		return err == nil
	})
	back := time.Now()
	t.Logf("killed %s; the PBX answers on %s %.1f s later with %d restored calls (%v)", active, r.Node(), back.Sub(kill).Seconds(), restored, err)
	if restored != n {
		t.Errorf("%d of %d calls restored on %s", restored, n, r.Node())
	}
	if err := caller.Wait(); err != nil {
		t.Errorf("caller sipp: %v (some calls failed)\n%s", err, tail(callerOut.String(), 3000))
	}
	if err := callee.Wait(); err != nil {
		t.Errorf("callee sipp: %v\n%s", err, tail(calleeOut.String(), 3000))
	}
	checkLabRecordings(t, ctx, r.Node(), bins.PBX, n, kill, back)
	if t.Failed() {
		for _, f := range []string{"caller_", "callee_"} {
			logs, _ := filepath.Glob(filepath.Join(dir, "*"+f+"*errors.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, tail(string(b), 3000))
			}
		}
	}
	if err := Revive(active); err != nil {
		t.Error(err)
	}
}

// recordingName matches a recording's path as `pbx cdr list` prints it;
// the file name starts with the answer time (UTC, ms), the recording's
// origin.
var recordingName = regexp.MustCompile(`(\S+/recordings/\S+/(\d{6}\.\d{3})_\S+\.wav)\s*$`)

// checkLabRecordings reads, on node, the recordings of the n calls (the
// callee records) and asserts that each holds the call's audio, caller and
// callee channels, from before the node running the PBX was killed and
// from after the PBX came back on node: one file, written by two nodes.
func checkLabRecordings(t *testing.T, ctx context.Context, node, pbxBin string, n int, kill, back time.Time) {
	t.Helper()
	out, err := On(ctx, node, pbxBin, "cdr", "list", "--data", DataDir, "--limit", strconv.Itoa(n))
	if err != nil {
		t.Fatal(err)
	}
	worst := 1.0
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")[1:]
	if len(lines) != n {
		t.Fatalf("%d CDRs, want %d:\n%s", len(lines), n, out)
	}
	for _, l := range lines {
		m := recordingName.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("CDR without a recording: %s", l)
		}
		hms, err := time.Parse("150405.000", m[2])
		if err != nil {
			t.Fatal(err)
		}
		day := kill.UTC()
		answer := time.Date(day.Year(), day.Month(), day.Day(), hms.Hour(), hms.Minute(), hms.Second(), hms.Nanosecond(), time.UTC)
		b, err := On(ctx, node, "cat", m[1])
		if err != nil {
			t.Fatal(err)
		}
		frames, err := recordingtest.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
		end := answer.Add(recordingtest.Length(frames))
		at := func(tm time.Time) int { return recordingtest.At(tm.Sub(answer)) }
		beforeFrom, beforeTo := at(answer.Add(500*time.Millisecond)), at(kill.Add(-700*time.Millisecond))
		afterFrom, afterTo := at(back.Add(time.Second)), at(end.Add(-time.Second))
		if beforeTo-beforeFrom < recordingtest.At(time.Second) || afterTo-afterFrom < recordingtest.At(time.Second) {
			t.Fatalf("%s (%v long): less than a second to look at before the kill or after the failover", m[1], recordingtest.Length(frames))
		}
		for ch, who := range []string{"caller", "callee"} {
			before := recordingtest.Audible(frames, ch, beforeFrom, beforeTo)
			after := recordingtest.Audible(frames, ch, afterFrom, afterTo)
			worst = min(worst, before, after)
			if before < 0.9 || after < 0.9 {
				t.Errorf("%s (%v long): %s's audio %.0f%% before the kill, %.0f%% after the failover; want >= 90%% both",
					m[1], recordingtest.Length(frames), who, 100*before, 100*after)
			}
		}
	}
	t.Logf("%d recordings, written by the killed node then by %s: both channels audible before the kill and after the failover (worst %.0f%%)",
		n, node, 100*worst)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
