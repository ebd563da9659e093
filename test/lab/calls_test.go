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
// them, and sipp counts no failed call.
func TestCallsSurviveNodeFailure(t *testing.T) {
	testenv.RequireTool(t, "sipp")
	const pcap = "/usr/share/sip-tester/g711a.pcap"
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("%s missing (sip-tester)", pcap)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bins := upLab(t, ctx)
	r, _ := load(t, ctx, 2*time.Minute, "pbx.crm").Resource("pbx")
	active := r.Node()
	for _, ext := range []string{callerExt, calleeExt} {
		if _, err := On(ctx, active, bins.PBX, "user", "add", "--data", DataDir, ext, "--password", "pw"+ext); err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	sc := filepath.Join(testenv.RepoRoot(t), "test")
	audio, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("audio.pcap", string(audio))
	auth := func(ext string) string { return fmt.Sprintf("[authentication username=%s password=pw%s]", ext, ext) }
	vip := VIP.String() + ":5060"

	// The callee registers, then answers with sipp's RTP echo on its media port.
	reg := write("register.csv", fmt.Sprintf("SEQUENTIAL\n%s;%s;%s:%d\n", calleeExt, auth(calleeExt), ClientIP, calleePort))
	if out, err := sippIn(t, ctx, dir, time.Minute, vip, "-sf", filepath.Join(sc, "sipp", "register.xml"), "-inf", reg,
		"-i", ClientIP.String(), "-p", strconv.Itoa(calleePort+1), "-m", "1").CombinedOutput(); err != nil {
		t.Fatalf("callee REGISTER: %v\n%s", err, tail(string(out), 2000))
	}
	const n, hold = 10, 40 * time.Second
	callee := sippIn(t, ctx, dir, 5*time.Minute, "-sf", filepath.Join(sc, "recovery", "testdata", "callee.xml"),
		"-i", ClientIP.String(), "-p", strconv.Itoa(calleePort), "-mp", strconv.Itoa(calleeMedia), "-rtp_echo",
		"-key", "echo_port", strconv.Itoa(calleeMedia), "-m", strconv.Itoa(n))
	var calleeOut, callerOut strings.Builder
	callee.Stdout, callee.Stderr = &calleeOut, &calleeOut
	if err := callee.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = callee.Process.Kill(); _ = callee.Wait() })
	calls := write("calls.csv", fmt.Sprintf("SEQUENTIAL\n%s;%s;%s\n", callerExt, calleeExt, auth(callerExt)))
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
	t.Logf("killed %s; the PBX answers on %s %.1f s later with %d restored calls (%v)", active, r.Node(), time.Since(kill).Seconds(), restored, err)
	if restored != n {
		t.Errorf("%d of %d calls restored on %s", restored, n, r.Node())
	}
	if err := caller.Wait(); err != nil {
		t.Errorf("caller sipp: %v (some calls failed)\n%s", err, tail(callerOut.String(), 3000))
	}
	if err := callee.Wait(); err != nil {
		t.Errorf("callee sipp: %v\n%s", err, tail(calleeOut.String(), 3000))
	}
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

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
