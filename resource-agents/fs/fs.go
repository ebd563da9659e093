// Package fs is the ocf:pbxha:fs resource agent: a filesystem (the PBX's
// data volume on /dev/drbdN) mounted on the node where the stack runs. It
// mounts and unmounts with the syscalls, reads the mount table from
// /proc/self/mountinfo, and on stop ends the processes that keep the
// directory busy (TERM, then KILL) so that the device can be demoted. The
// only program it may run is fsck, when asked to.
package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"pbxha/internal/procfs"
	"pbxha/resource-agents/ocf"
)

func checkDir(v string) error {
	if !filepath.IsAbs(v) || filepath.Clean(v) == "/" {
		return fmt.Errorf("%q must be an absolute path other than /", v)
	}
	return nil
}

func checkDevice(v string) error {
	if !filepath.IsAbs(v) {
		return fmt.Errorf("%q is not an absolute device path", v)
	}
	return nil
}

// Agent is ocf:pbxha:fs.
var Agent = &ocf.Agent{
	Name:      "fs",
	Version:   "1.0",
	ShortDesc: "Filesystem on a block device (the PBX data volume)",
	LongDesc: "Mounts a filesystem (by default ext4 on a DRBD device) on a directory, and unmounts it on stop, " +
		"ending the processes that keep it busy first. Monitor depth 20 writes, syncs and reads back a small file.",
	Params: []ocf.Param{
		{Name: "device", Type: ocf.String, Required: true, Check: checkDevice,
			ShortDesc: "Block device", LongDesc: "The block device to mount, e.g. /dev/drbd0."},
		{Name: "directory", Type: ocf.String, Required: true, Unique: true, Check: checkDir,
			ShortDesc: "Mount point", LongDesc: "Where to mount it, e.g. /srv/pbxha; created when missing."},
		{Name: "fstype", Type: ocf.String, Default: "ext4",
			ShortDesc: "Filesystem type", LongDesc: "The filesystem type passed to mount(2)."},
		{Name: "options", Type: ocf.String, Default: "noatime",
			ShortDesc: "Mount options", LongDesc: "Comma-separated mount options, as for mount -o."},
		{Name: "fsck", Type: ocf.Boolean, Default: "false",
			ShortDesc: "Check before mounting", LongDesc: "Run fsck -a on the device before mounting (ext4 replays its journal on mount without it)."},
		{Name: "force_unmount", Type: ocf.Boolean, Default: "true",
			ShortDesc: "End processes using the directory on stop",
			LongDesc:  "On stop, send TERM and then KILL to processes with files, working directory or root below the mount point, so the unmount (and the demotion of the device under it) can proceed."},
	},
	Actions: []ocf.Action{
		{Name: "start", Timeout: 60 * time.Second},
		{Name: "stop", Timeout: 60 * time.Second},
		{Name: "monitor", Timeout: 40 * time.Second, Interval: 20 * time.Second},
		{Name: "monitor", Timeout: 40 * time.Second, Interval: 60 * time.Second, Depth: 20},
	},
	Start:       start,
	Stop:        stop,
	Monitor:     monitor,
	Validate:    validate,
	ReloadAgent: func(*ocf.Env) error { return nil }, // force_unmount is read by each stop
}

// devNum returns a block device's major:minor.
func devNum(dev string) (uint32, uint32, error) {
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return 0, 0, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return 0, 0, fmt.Errorf("%s is not a block device", dev)
	}
	return unix.Major(st.Rdev), unix.Minor(st.Rdev), nil
}

func validate(e *ocf.Env) error {
	if _, _, err := devNum(e.String("device")); err != nil {
		return ocf.Fail(ocf.ErrArgs, "parameter device: %v", err)
	}
	return nil
}

// mounted returns what is mounted on dir (the topmost mount), if anything.
func mounted(dir string) (*procfs.Mount, error) {
	ms, err := procfs.Mounts()
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	var top *procfs.Mount
	for i := range ms {
		if ms[i].MountPoint == dir {
			top = &ms[i]
		}
	}
	return top, nil
}

type state int

const (
	absent  state = iota
	ours          // the device is mounted on the directory
	foreign       // something else is mounted there
)

func inspect(e *ocf.Env) (state, *procfs.Mount, error) {
	dir := filepath.Clean(e.String("directory"))
	m, err := mounted(dir)
	if err != nil || m == nil {
		return absent, nil, err
	}
	maj, min, err := devNum(e.String("device"))
	if err != nil {
		// The device is gone but something is mounted there: say what.
		return foreign, m, nil
	}
	if m.Major == maj && m.Minor == min {
		return ours, m, nil
	}
	return foreign, m, nil
}

func start(e *ocf.Env) error {
	dev, dir := e.String("device"), filepath.Clean(e.String("directory"))
	st, m, err := inspect(e)
	switch {
	case err != nil:
		return err
	case st == ours:
		return nil
	case st == foreign:
		return ocf.Fail(ocf.ErrGeneric, "%s already has %s (%s) mounted on it", dir, m.Source, m.FSType)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "create mount point: %w", err)
	}
	if e.Bool("fsck") {
		if err := fsck(e.Ctx, e, dev); err != nil {
			return err
		}
	}
	flags, data := mountOptions(e.String("options"))
	if err := unix.Mount(dev, dir, e.String("fstype"), flags, data); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "mount %s on %s (%s, %q): %w", dev, dir, e.String("fstype"), e.String("options"), err)
	}
	e.Log.Infof("mounted %s on %s", dev, dir)
	return nil
}

// fsck runs fsck -a: exit 0 (clean) and 1 (errors corrected) let the mount go on.
func fsck(ctx context.Context, e *ocf.Env, dev string) error {
	cmd := exec.CommandContext(ctx, "fsck", "-a", "-t", e.String("fstype"), dev)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		e.Log.Warnf("fsck corrected errors on %s: %s", dev, strings.TrimSpace(out.String()))
		return nil
	}
	return ocf.Fail(ocf.ErrGeneric, "fsck %s: %v: %s", dev, err, strings.TrimSpace(out.String()))
}

// msFlags are the options mount(8) turns into MS_* flags; the others are
// filesystem options passed as data.
var msFlags = map[string]uintptr{
	"ro": unix.MS_RDONLY, "rw": 0, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
	"sync": unix.MS_SYNCHRONOUS, "dirsync": unix.MS_DIRSYNC, "noatime": unix.MS_NOATIME,
	"nodiratime": unix.MS_NODIRATIME, "relatime": unix.MS_RELATIME, "strictatime": unix.MS_STRICTATIME,
	"lazytime": unix.MS_LAZYTIME, "defaults": 0,
}

func mountOptions(opts string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range strings.Split(opts, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if f, ok := msFlags[o]; ok {
			flags |= f
		} else {
			data = append(data, o)
		}
	}
	return flags, strings.Join(data, ",")
}

func stop(e *ocf.Env) error {
	dir := filepath.Clean(e.String("directory"))
	for attempt := 0; ; attempt++ {
		st, _, err := inspect(e)
		if err != nil {
			return err
		}
		if st != ours {
			return nil
		}
		err = unix.Unmount(dir, 0)
		if err == nil {
			e.Log.Infof("unmounted %s", dir)
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return ocf.Fail(ocf.ErrGeneric, "unmount %s: %w", dir, err)
		}
		users, _ := procfs.Users("", procfs.Below(dir))
		if !e.Bool("force_unmount") || e.Ctx.Err() != nil {
			return ocf.Fail(ocf.ErrGeneric, "unmount %s: busy (used by %s)", dir, describe(users))
		}
		// TERM first, KILL from the third round on.
		sig := syscall.SIGTERM
		if attempt >= 2 {
			sig = syscall.SIGKILL
		}
		for _, p := range users {
			e.Log.Warnf("%s keeps %s busy: sending %v", p, dir, sig)
			_ = syscall.Kill(p.PID, sig)
		}
		select {
		case <-e.Ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
}

func describe(ps []procfs.Process) string {
	if len(ps) == 0 {
		return "no process found: a bind mount, swap file or loop device?"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

func monitor(e *ocf.Env) error {
	st, m, err := inspect(e)
	switch {
	case err != nil:
		return err
	case st == absent:
		return ocf.NotRunning
	case st == foreign:
		return ocf.Fail(ocf.ErrGeneric, "%s has %s mounted, not %s", e.String("directory"), m.Source, e.String("device"))
	}
	if e.CheckLevel() >= 20 && !strings.HasPrefix(m.Options, "ro") {
		return readWrite(filepath.Join(e.String("directory"), ".pbxha-fs-check"))
	}
	return nil
}

// readWrite proves the filesystem takes writes and returns them: write and
// fsync a block, read it back.
func readWrite(path string) error {
	want := []byte(fmt.Sprintf("pbxha fs check %d %d\n", os.Getpid(), time.Now().UnixNano()))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return ocf.Fail(ocf.ErrGeneric, "write check: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(want); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "write check: %w", err)
	}
	if err := f.Sync(); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "write check: fsync: %w", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		return ocf.Fail(ocf.ErrGeneric, "read check of %s: got %q (%v)", path, got, err)
	}
	return nil
}
