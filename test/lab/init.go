package lab

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const ocfProviders = "/usr/lib/ocf/resource.d"

// Init is PID 1 of a lab node (`pbxha-lab init`). It runs inside the node's
// fresh mount, PID and UTS namespaces (and its network namespace, through
// ip netns exec), makes them look like a host of its own, starts the
// cluster stack and reaps until killed.
func Init(node, dir, agentBin string) error {
	log.SetPrefix(node + " init: ")
	if os.Getpid() != 1 {
		return fmt.Errorf("init must run as PID 1 of a new PID namespace (got pid %d)", os.Getpid())
	}
	if err := setupMounts(dir, agentBin); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(node)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	env := append(os.Environ(), "PCMK_node_name="+node, "PCMK_logfile=/var/log/pacemaker/pacemaker.log",
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	corosync, err := spawn(env, "/var/log/corosync/corosync.out", "corosync", "-f")
	if err != nil {
		return err
	}
	if err := waitCorosync(10 * time.Second); err != nil {
		return err
	}
	pcmk, err := spawn(env, "/var/log/pacemaker/pacemakerd.out", "pacemakerd", "-f")
	if err != nil {
		return err
	}
	log.Printf("corosync pid %d, pacemakerd pid %d", corosync, pcmk)
	return reap(corosync, pcmk)
}

func setupMounts(dir, agentBin string) error {
	mounts := []struct {
		src, dst, fstype string
		flags            uintptr
	}{
		{"", "/", "", unix.MS_REC | unix.MS_PRIVATE},
		{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	}
	for _, d := range privateDirs {
		mounts = append(mounts, struct {
			src, dst, fstype string
			flags            uintptr
		}{filepath.Join(dir, d.sub), d.target, "", unix.MS_BIND})
	}
	for _, m := range mounts {
		if err := unix.Mount(m.src, m.dst, m.fstype, m.flags, ""); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.src, m.dst, err)
		}
	}
	return mountAgents(dir, agentBin)
}

// mountAgents puts the pbxha agents next to the stock providers without
// touching the host: the stock tree is bind-mounted aside, a tmpfs covers
// the providers directory, and it gets links to both.
func mountAgents(dir, agentBin string) error {
	stock := filepath.Join(dir, "ocf-stock")
	if err := os.MkdirAll(stock, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(ocfProviders, stock, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", ocfProviders, err)
	}
	if err := unix.Mount("tmpfs", ocfProviders, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs on %s: %w", ocfProviders, err)
	}
	entries, err := os.ReadDir(stock)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(stock, e.Name()), filepath.Join(ocfProviders, e.Name())); err != nil {
			return err
		}
	}
	pbxha := filepath.Join(ocfProviders, "pbxha")
	if err := os.Mkdir(pbxha, 0o755); err != nil {
		return err
	}
	for _, a := range Agents {
		if err := os.Symlink(agentBin, filepath.Join(pbxha, a)); err != nil {
			return err
		}
	}
	return nil
}

// Agents are the names the multi-call agent binary answers to.
var Agents = []string{"vip", "drbd", "fs", "pbx"}

func spawn(env []string, logPath string, name string, args ...string) (int, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", name, err)
	}
	return cmd.Process.Pid, nil
}

// waitCorosync waits for corosync's IPC before pacemakerd, which would
// otherwise spend its first seconds retrying.
func waitCorosync(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for exec.Command("corosync-cfgtool", "-s").Run() != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("corosync not answering after %v (see /var/log/corosync)", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// reap waits for every child (PID 1 inherits orphans), and on SIGTERM
// stops pacemakerd, then corosync, as their units would.
func reap(corosync, pcmk int) error {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	exited := make(chan int, 16)
	go func() {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, 0, nil)
			if err == unix.ECHILD {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if err == nil && (pid == corosync || pid == pcmk) {
				exited <- pid
			}
		}
	}()
	alive := map[int]string{corosync: "corosync", pcmk: "pacemakerd"}
	for {
		select {
		case pid := <-exited:
			log.Printf("%s (pid %d) exited", alive[pid], pid)
			delete(alive, pid)
			if len(alive) == 0 {
				return nil
			}
		case <-term:
			log.Printf("shutting down")
			stopAndWait(pcmk, exited, 60*time.Second)
			stopAndWait(corosync, exited, 20*time.Second)
			return nil
		}
	}
}

func stopAndWait(pid int, exited <-chan int, limit time.Duration) {
	_ = unix.Kill(pid, unix.SIGTERM)
	deadline := time.After(limit)
	for {
		select {
		case p := <-exited:
			if p == pid {
				return
			}
		case <-deadline:
			_ = unix.Kill(pid, unix.SIGKILL)
			return
		}
	}
}
