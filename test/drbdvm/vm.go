package drbdvm

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Guest is one running qemu guest.
type Guest struct {
	Name  string // hostname, the `on NAME` of DRBD resource files
	IP    string // address on the test bridge, without prefix length
	Index int    // position in the cluster: the clone instance number

	tap     string
	console string // kernel console log (ttyS0)
	cmd     *exec.Cmd
	exited  chan struct{}
	ch      *channel
	conn    net.Conn
}

// guestSpec is what startGuest needs to boot one guest.
type guestSpec struct {
	name, ip, mac, tap string
	index              int
	netns              string
	kernel, initrd     string
	dir                string // holds the data disk, console log and socket
}

const (
	guestMemMB    = 256
	dataDiskBytes = 64 << 20
	bootTimeout   = 120 * time.Second
)

// qemuArgs is the guest's qemu command line: TCG (KVM hangs on these
// machines), ttyS0 = kernel console to a file, ttyS1 = command channel on a
// unix socket qemu waits on before it starts, and virtio disk and NIC at
// pinned PCI addresses so the guest always sees /dev/vda and eth0.
func qemuArgs(s guestSpec, disk, console, sock string) []string {
	return []string{
		"-accel", "tcg", "-m", strconv.Itoa(guestMemMB), "-smp", "1",
		"-nodefaults", "-display", "none", "-no-reboot",
		"-kernel", s.kernel, "-initrd", s.initrd,
		"-append", fmt.Sprintf("console=ttyS0 panic=-1 pbxha.host=%s pbxha.ip=%s/24", s.name, s.ip),
		"-serial", "file:" + console,
		"-chardev", "socket,id=cmd,path=" + sock + ",server=on,wait=on",
		"-serial", "chardev:cmd",
		"-drive", "file=" + disk + ",format=raw,if=none,id=data",
		"-device", "virtio-blk-pci,drive=data,addr=0x5",
		"-netdev", "tap,id=net0,ifname=" + s.tap + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=net0,mac=" + s.mac + ",addr=0x6",
	}
}

// startGuest boots a guest inside the namespace and waits until its command
// loop answers. On error the qemu process is killed.
func startGuest(s guestSpec) (*Guest, error) {
	g := &Guest{Name: s.name, IP: s.ip, Index: s.index, tap: s.tap, console: filepath.Join(s.dir, "console.log"), exited: make(chan struct{})}
	disk := filepath.Join(s.dir, "data.img")
	if err := os.WriteFile(disk, nil, 0o600); err != nil {
		return nil, fmt.Errorf("guest %s data disk: %w", s.name, err)
	}
	if err := os.Truncate(disk, dataDiskBytes); err != nil {
		return nil, fmt.Errorf("guest %s data disk: %w", s.name, err)
	}
	sock := filepath.Join(s.dir, "cmd.sock")
	args := append([]string{"netns", "exec", s.netns, "qemu-system-x86_64"}, qemuArgs(s, disk, g.console, sock)...)
	g.cmd = exec.Command("ip", args...) // ip execs qemu: same PID
	// qemu dies with the test process even when t.Cleanup cannot run
	// (go test -timeout panics, SIGKILL).
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	qemuLog, err := os.Create(filepath.Join(s.dir, "qemu.log"))
	if err != nil {
		return nil, fmt.Errorf("guest %s: %w", s.name, err)
	}
	defer qemuLog.Close()
	g.cmd.Stdout, g.cmd.Stderr = qemuLog, qemuLog
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu for %s: %w", s.name, err)
	}
	go func() { g.cmd.Wait(); close(g.exited) }()
	if err := g.connect(sock); err != nil {
		g.stop()
		return nil, fmt.Errorf("guest %s: %w (see %s)", s.name, err, qemuLog.Name())
	}
	return g, nil
}

// connect dials the command socket (qemu creates it, then waits for us)
// and waits for the command loop's READY.
func (g *Guest) connect(sock string) error {
	deadline := time.Now().Add(bootTimeout)
	for {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			g.conn = conn
			break
		}
		select {
		case <-g.exited:
			return errors.New("qemu exited before opening its command socket")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("command socket: %w", err)
		}
	}
	g.ch = newChannel(g.conn)
	if err := g.ch.waitReady(time.Until(deadline)); err != nil {
		return fmt.Errorf("boot: %w", err)
	}
	return nil
}

// stop kills qemu by PID and waits (bounded) for it to be reaped.
func (g *Guest) stop() error {
	if g.conn != nil {
		g.conn.Close()
	}
	select {
	case <-g.exited:
		return nil
	default:
	}
	if err := g.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill qemu of %s (pid %d): %w", g.Name, g.cmd.Process.Pid, err)
	}
	select {
	case <-g.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("qemu of %s (pid %d) still running 10 s after SIGKILL", g.Name, g.cmd.Process.Pid)
	}
}

// Run executes a shell script in the guest (busybox sh, PATH including
// /usr/lib/drbd) and returns its result; the guest kills it after timeout.
// An error means the channel failed, not that the script did.
func (g *Guest) Run(script string, timeout time.Duration) (Result, error) {
	res, err := g.ch.run(script, timeout)
	if err != nil {
		return res, fmt.Errorf("guest %s: %w", g.Name, err)
	}
	return res, nil
}

// WriteFile writes data to path in the guest.
func (g *Guest) WriteFile(path string, data []byte) error {
	script := fmt.Sprintf("mkdir -p \"$(dirname %[1]s)\" && echo %[2]s | base64 -d > %[1]s", path,
		base64.StdEncoding.EncodeToString(data))
	res, err := g.Run(script, 30*time.Second)
	if err == nil && res.Status != 0 {
		err = fmt.Errorf("guest %s: write %s: status %d: %s", g.Name, path, res.Status, res.Stderr)
	}
	return err
}

// ConsoleLog returns the guest's kernel console output so far.
func (g *Guest) ConsoleLog() string {
	b, _ := os.ReadFile(g.console)
	return string(b)
}
