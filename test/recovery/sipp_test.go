package recovery

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pbxha/internal/sipptest"
)

// phones are a caller sipp and a callee sipp placing calls through a pbx.
type phones struct {
	dir            string
	caller, callee *sipptest.Process
	echo           *echoPhone
}

// load is the calls a caller sipp places: n calls with the caller
// scenario at rate per second (at most limit at once, 0: no limit), each
// staying up hold (sipp -d) before its scripted hang-up; a callee sipp
// answers them with the callee scenario.
type load struct {
	caller, callee string
	n, rate, limit int
	hold           time.Duration
}

// calls starts the callee sipp on port calleeSIP, then the caller sipp.
func calls(t *testing.T, p *pbx, calleeSIP int, l load) *phones {
	t.Helper()
	ph := &phones{dir: t.TempDir(), echo: newEchoPhone(t)}
	sipptest.WriteTonePCAP(t, filepath.Join(ph.dir, "audio.pcap"), l.hold+30*time.Second)
	limit := 2*l.hold + time.Minute + time.Duration(l.n/20)*time.Second // 20 calls/s on a loaded machine
	ms := fmt.Sprint(l.hold.Milliseconds())
	ph.callee = sipptest.Start(t, ph.dir, limit, "-sf", scenario(l.callee), "-i", "127.0.0.1", "-p", fmt.Sprint(calleeSIP),
		"-mp", fmt.Sprint(freePort(t, 4)), "-key", "echo_port", fmt.Sprint(ph.echo.port()), "-m", fmt.Sprint(l.n), "-d", ms)
	inf := filepath.Join(ph.dir, "calls.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\n100;200;[authentication username=100 password=pw100]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{p.addr, "-sf", scenario(l.caller), "-inf", inf, "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t, 1)),
		"-mp", fmt.Sprint(freePort(t, 4)), "-m", fmt.Sprint(l.n), "-r", fmt.Sprint(l.rate), "-d", ms}
	if l.limit > 0 {
		args = append(args, "-l", fmt.Sprint(l.limit))
	}
	ph.caller = sipptest.Start(t, ph.dir, limit, args...)
	return ph
}

// wait waits for both sipps and returns how many calls the caller counted
// as successful and failed, and a report of whatever went wrong.
func (ph *phones) wait(t *testing.T) (ok, failed int, problems string) {
	t.Helper()
	var b strings.Builder
	cerr := ph.caller.Wait()
	ok, failed = sipptest.Counts(ph.caller.Output())
	if cerr != nil {
		fmt.Fprintf(&b, "caller sipp: %v\n%s\n", cerr, tail(ph.caller.Output(), 1500))
		// The callee may wait for calls that never come: let it finish
		// what did come, then stop it.
		if _, running := ph.callee.WaitFor(10 * time.Second); running {
			ph.callee.Kill()
		}
	}
	if err := ph.callee.Wait(); err != nil {
		fmt.Fprintf(&b, "callee sipp: %v\n%s\n", err, tail(ph.callee.Output(), 1500))
	}
	if b.Len() > 0 {
		b.WriteString(tail(ph.caller.ErrorLogs(), 6000)) // both sipps work in ph.dir
	}
	return ok, failed, b.String()
}

// calleeCounts are the callee sipp's successful and failed calls (after
// wait).
func (ph *phones) calleeCounts() (ok, failed int) { return sipptest.Counts(ph.callee.Output()) }

func scenario(name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}
