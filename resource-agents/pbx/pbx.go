// Package pbx is the ocf:pbxha:pbx resource agent: the PBX daemon (`pbx
// run`) on the node holding the data volume and the VIP.
//
// start launches the daemon detached, with a NOTIFY_SOCKET of the agent's
// own, and returns when the daemon says READY=1 (it has replayed the dialog
// journal, restored active calls and answers SIP), or fails with the tail
// of its log when it dies first. monitor checks the process and asks SIP
// itself: an OPTIONS to the listen address must get 200. stop sends TERM
// (the daemon finishes in-flight transactions and leaves active calls in
// the journal for the next node) and KILL at the operation's deadline.
package pbx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pbxha/internal/pidfile"
	"pbxha/internal/procfs"
	"pbxha/internal/sipprobe"
	"pbxha/resource-agents/ocf"
)

func checkListen(v string) error {
	ap, err := netip.ParseAddrPort(v)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not IP:PORT", v)
	case ap.Addr().IsUnspecified():
		return fmt.Errorf("%q: the PBX listens on one address (the VIP), not a wildcard", v)
	}
	return nil
}

func checkPorts(v string) error {
	lo, hi, ok := strings.Cut(v, "-")
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || l < 1024 || h > 65535 || h <= l || l%2 != 0 {
		return fmt.Errorf("%q is not LOW-HIGH with an even LOW and 1024 <= LOW < HIGH <= 65535", v)
	}
	return nil
}

// Agent is ocf:pbxha:pbx.
var Agent = &ocf.Agent{
	Name:      "pbx",
	Version:   "1.0",
	ShortDesc: "The pbxha PBX daemon",
	LongDesc: "Runs `pbx run` on the data volume and the VIP. Start returns once the daemon has restored the " +
		"active calls from its dialog journal and answers SIP; monitor sends it a SIP OPTIONS; stop leaves " +
		"active calls in the journal so that the node taking over resumes them.",
	Params: []ocf.Param{
		{Name: "listen", Type: ocf.String, Required: true, Unique: true, Check: checkListen,
			ShortDesc: "SIP address", LongDesc: "IP:PORT for SIP over UDP and TCP, the VIP (e.g. 198.18.0.50:5060). RTP binds the same IP."},
		{Name: "data", Type: ocf.String, Default: "/srv/pbxha",
			ShortDesc: "Data directory", LongDesc: "The PBX's data directory (the mounted DRBD volume), initialised with `pbx init`."},
		{Name: "rtp_ports", Type: ocf.String, Default: "20000-29999", Check: checkPorts,
			ShortDesc: "RTP relay ports", LongDesc: "LOW-HIGH: the relay's port range (even RTP, odd RTCP)."},
		{Name: "config", Type: ocf.String,
			ShortDesc: "Settings file", LongDesc: "A JSON settings file for `pbx run --config`."},
		{Name: "recover_reinvite", Type: ocf.Boolean, Default: "false",
			ShortDesc: "Re-INVITE restored calls", LongDesc: "After a failover, re-INVITE both legs of each restored call with fresh SDP (for phones behind NAT or on TCP)."},
		{Name: "binary", Type: ocf.String,
			ShortDesc: "pbx program", LongDesc: "The pbx binary. By default the `pbx` installed beside this agent's binary."},
		{Name: "log", Type: ocf.String, Default: "/var/log/pbxha/pbx.log",
			ShortDesc: "Log file", LongDesc: "Where the daemon's output goes."},
	},
	Actions: []ocf.Action{
		{Name: "start", Timeout: 60 * time.Second},
		{Name: "stop", Timeout: 60 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
	},
	Start:    start,
	Stop:     stop,
	Monitor:  monitor,
	Validate: validate,
}

func binary(e *ocf.Env) (string, error) {
	if b := e.String("binary"); b != "" {
		return b, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(self), "pbx"), nil
}

func validate(e *ocf.Env) error {
	bin, err := binary(e)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		return ocf.Fail(ocf.ErrInstalled, "pbx program %s is not installed (set binary): %v", bin, err)
	}
	db := filepath.Join(e.String("data"), "pbx.db")
	if _, err := os.Stat(db); err != nil {
		return ocf.Fail(ocf.ErrArgs, "data directory %s is not initialised here (no pbx.db: is the volume mounted? `pbx init` it once)", e.String("data"))
	}
	return nil
}

func pidPath(e *ocf.Env) string { return e.StatePath("pbxha-pbx-" + e.Instance + ".pid") }

// running returns the daemon's PID when the pidfile names a live pbx.
func running(e *ocf.Env) (int, bool) {
	pid, err := pidfile.Read(pidPath(e))
	if err != nil {
		return 0, false
	}
	bin, err := binary(e)
	if err != nil {
		return 0, false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || !sameProgram(exe, bin) {
		return 0, false // gone, or the PID was reused
	}
	return pid, procfs.Alive(pid)
}

func sameProgram(exe, bin string) bool {
	if real, err := filepath.EvalSymlinks(bin); err == nil {
		bin = real
	}
	return exe == bin || exe == bin+" (deleted)"
}

func start(e *ocf.Env) error {
	if _, ok := running(e); ok {
		if _, err := sipprobe.Options(e.Ctx, e.String("listen"), 2*time.Second); err == nil {
			return nil
		}
	}
	bin, err := binary(e)
	if err != nil {
		return err
	}
	notify, err := listenNotify(e.StateDir())
	if err != nil {
		return err
	}
	defer os.Remove(notify.LocalAddr().String())
	defer notify.Close()

	logPath := e.String("log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "log directory: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return ocf.Fail(ocf.ErrGeneric, "log file: %w", err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, 2)

	args := []string{"run", "--data", e.String("data"), "--listen", e.String("listen"), "--rtp-ports", e.String("rtp_ports")}
	if c := e.String("config"); c != "" {
		args = append(args, "--config", c)
	}
	if e.Bool("recover_reinvite") {
		args = append(args, "--recover-reinvite")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify.LocalAddr().String())
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "start %s: %w", bin, err)
	}
	pid := cmd.Process.Pid
	if err := pidfile.Write(pidPath(e), pid); err != nil {
		_ = cmd.Process.Kill()
		return ocf.Fail(ocf.ErrGeneric, "pidfile: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ready := make(chan error, 1)
	go func() { ready <- waitReady(notify) }()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			return ocf.Fail(ocf.ErrGeneric, "pbx (pid %d): %v", pid, err)
		}
		e.Log.Infof("pbx (pid %d) ready on %s", pid, e.String("listen"))
		return nil
	case err := <-exited:
		return ocf.Fail(ocf.ErrGeneric, "pbx exited before it was ready (%v): %s", err, lastLine(logPath, logStart))
	case <-e.Ctx.Done():
		_ = cmd.Process.Kill()
		return ocf.Fail(ocf.ErrGeneric, "pbx (pid %d) not ready before the start timeout: %s", pid, lastLine(logPath, logStart))
	}
}

// listenNotify opens the datagram socket the daemon reports READY=1 on.
func listenNotify(dir string) (*net.UnixConn, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, fmt.Sprintf("pbxha-pbx-notify-%d.sock", os.Getpid()))
	_ = os.Remove(path)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	return c, nil
}

func waitReady(c *net.UnixConn) error {
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(buf[:n]), "\n") {
			if l == "READY=1" {
				return nil
			}
		}
	}
}

// lastLine is the daemon's last line of output since start began: its
// refusal to start says why. The whole output stays in the log file.
func lastLine(path string, from int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < from {
		return "(no output)"
	}
	lines := strings.Split(strings.TrimSpace(string(b[from:])), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return "(no output)"
	}
	if len(last) > 300 {
		last = last[:300] + "..."
	}
	return last + " (log: " + path + ")"
}

func monitor(e *ocf.Env) error {
	pid, ok := running(e)
	if !ok {
		return ocf.NotRunning
	}
	line, err := sipprobe.Options(e.Ctx, e.String("listen"), 2*time.Second)
	if err != nil {
		return ocf.Fail(ocf.ErrGeneric, "pbx (pid %d) is running but SIP does not answer: %v", pid, err)
	}
	if !strings.HasPrefix(line, "SIP/2.0 200") {
		return ocf.Fail(ocf.ErrGeneric, "pbx (pid %d) answers OPTIONS with %q", pid, line)
	}
	return nil
}

func stop(e *ocf.Env) error {
	pid, ok := running(e)
	if !ok {
		_ = os.Remove(pidPath(e))
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(e.Ctx, 30*time.Second) // bound a stop run by hand (no operation timeout)
	defer cancel()
	for {
		if _, ok := running(e); !ok {
			_ = os.Remove(pidPath(e))
			e.Log.Infof("pbx (pid %d) stopped", pid)
			return nil
		}
		select {
		case <-ctx.Done():
			e.Log.Warnf("pbx (pid %d) did not stop on TERM in time: killing it", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return waitGone(e, pid)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var errStillThere = errors.New("still running after KILL")

func waitGone(e *ocf.Env, pid int) error {
	for i := 0; i < 100; i++ {
		if _, ok := running(e); !ok {
			_ = os.Remove(pidPath(e))
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ocf.Fail(ocf.ErrGeneric, "pbx (pid %d): %w", pid, errStillThere)
}
