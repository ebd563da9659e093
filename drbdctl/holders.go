package drbdctl

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"pbxha/internal/procfs"
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
		mps, err := MountsOf(mi, unix.Major(rdev), unix.Minor(rdev))
		if err != nil {
			return nil, fmt.Errorf("holders of %s: %w", dev, err)
		}
		for _, mp := range mps {
			out = append(out, Holder{Kind: "mount", What: mp})
		}
		stacked, _ := os.ReadDir(filepath.Join(sys, "dev", "block", fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev)), "holders"))
		for _, e := range stacked {
			out = append(out, Holder{Kind: "device", What: e.Name()})
		}
	}
	procs, err := procfs.Users(proc, func(_ string, fi os.FileInfo) bool { return sameFile(fi, target) })
	if err != nil {
		return nil, fmt.Errorf("holders of %s: %w", dev, err)
	}
	for _, p := range procs {
		out = append(out, Holder{Kind: "process", PID: p.PID, What: p.String()})
	}
	return out, nil
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
func MountsOf(mountinfo []byte, maj, min uint32) ([]string, error) {
	mounts, err := procfs.ParseMountinfo(mountinfo)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mounts {
		if m.Major == maj && m.Minor == min {
			out = append(out, m.MountPoint)
		}
	}
	return out, nil
}
