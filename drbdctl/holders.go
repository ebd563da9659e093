package drbdctl

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Holder is something that keeps a DRBD device open.
type Holder struct {
	Kind string // "mount", "process" or "device" (a stacked block device)
	PID  int    // for processes
	What string // mount point, "comm (pid N)" or the stacked device's name
}

func (h Holder) String() string { return h.Kind + " " + h.What }

// HolderScan finds what holds a device open by reading procfs and sysfs.
// The zero value reads /proc and /sys.
type HolderScan struct {
	Proc, Sys string
}

func (s HolderScan) dirs() (proc, sys string) {
	proc, sys = s.Proc, s.Sys
	if proc == "" {
		proc = "/proc"
	}
	if sys == "" {
		sys = "/sys"
	}
	return proc, sys
}

// Holders lists the mounts, processes and stacked devices holding dev open.
// Processes that cannot be inspected (they exit meanwhile) are skipped.
func (s HolderScan) Holders(dev string) ([]Holder, error) {
	proc, sys := s.dirs()
	target, err := os.Stat(dev)
	if err != nil {
		return nil, fmt.Errorf("holders of %s: %w", dev, err)
	}
	var out []Holder
	if target.Mode()&os.ModeDevice != 0 {
		rdev := target.Sys().(*syscall.Stat_t).Rdev
		mi, err := os.ReadFile(filepath.Join(proc, "self", "mountinfo"))
		if err != nil {
			return nil, fmt.Errorf("holders of %s: %w", dev, err)
		}
		for _, mp := range MountsOf(mi, unix.Major(rdev), unix.Minor(rdev)) {
			out = append(out, Holder{Kind: "mount", What: mp})
		}
		stacked, _ := os.ReadDir(filepath.Join(sys, "dev", "block", fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev)), "holders"))
		for _, e := range stacked {
			out = append(out, Holder{Kind: "device", What: e.Name()})
		}
	}
	pids, err := os.ReadDir(proc)
	if err != nil {
		return nil, fmt.Errorf("holders of %s: %w", dev, err)
	}
	for _, p := range pids {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if holdsOpen(filepath.Join(proc, p.Name(), "fd"), target) {
			comm, _ := os.ReadFile(filepath.Join(proc, p.Name(), "comm"))
			out = append(out, Holder{Kind: "process", PID: pid, What: fmt.Sprintf("%s (pid %d)", strings.TrimSpace(string(comm)), pid)})
		}
	}
	return out, nil
}

// holdsOpen reports whether a process's fd directory has target open.
func holdsOpen(fdDir string, target os.FileInfo) bool {
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		fi, err := os.Stat(filepath.Join(fdDir, fd.Name()))
		if err == nil && sameFile(fi, target) {
			return true
		}
	}
	return false
}

// sameFile matches device nodes by device number (a device may have several
// nodes) and other files by identity.
func sameFile(a, b os.FileInfo) bool {
	if a.Mode()&os.ModeDevice != 0 && b.Mode()&os.ModeDevice != 0 {
		return a.Sys().(*syscall.Stat_t).Rdev == b.Sys().(*syscall.Stat_t).Rdev
	}
	return os.SameFile(a, b)
}

// MountsOf returns the mount points of the block device major:minor listed
// in a /proc/PID/mountinfo text.
func MountsOf(mountinfo []byte, maj, min uint32) []string {
	want := fmt.Sprintf("%d:%d", maj, min)
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 4 && f[2] == want {
			out = append(out, unescapeMount(f[4]))
		}
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
