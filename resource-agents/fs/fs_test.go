package fs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pbxha/internal/procfs"
	"pbxha/internal/testenv"
	"pbxha/resource-agents/ocf"
	"pbxha/resource-agents/ocf/ocftest"
)

func TestMetadata(t *testing.T) { ocftest.CheckMetadata(t, Agent.WriteMetadata) }

func TestMountOptions(t *testing.T) {
	flags, data := mountOptions("noatime, nodev,errors=remount-ro,,data=ordered")
	if flags != unix.MS_NOATIME|unix.MS_NODEV || data != "errors=remount-ro,data=ordered" {
		t.Errorf("flags %#x data %q", flags, data)
	}
}

// mountPoints lists where dev is mounted.
func mountPoints(t *testing.T, dev string) []string {
	maj, min, err := devNum(dev)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := procfs.Mounts()
	if err != nil {
		t.Fatal(err)
	}
	var mps []string
	for _, m := range ms {
		if m.Major == maj && m.Minor == min {
			mps = append(mps, m.MountPoint)
		}
	}
	return mps
}

// loopExt4 makes a small ext4 filesystem on a loop device, detached when
// the test ends (after anything left mounted from it is unmounted).
func loopExt4(t *testing.T) string {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "losetup", "mkfs.ext4")
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 32<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs: %v %s", err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		for _, mp := range mountPoints(t, dev) {
			_ = unix.Unmount(mp, unix.MNT_DETACH)
		}
		_ = exec.Command("losetup", "-d", dev).Run()
	})
	return dev
}

type fixture struct {
	t              *testing.T
	ocfRoot, agent string
	params         map[string]string
}

func newFixture(t *testing.T) *fixture {
	dev := loopExt4(t)
	root, agent := ocftest.BuildAgent(t, "fs")
	dir := filepath.Join(t.TempDir(), "srv", "pbxha") // created by start
	return &fixture{t: t, ocfRoot: root, agent: agent,
		params: map[string]string{"OCF_RESKEY_device": dev, "OCF_RESKEY_directory": dir, "OCF_RESOURCE_INSTANCE": "fs"}}
}

func (f *fixture) expect(action string, extra map[string]string, want ocf.Status, reason string) {
	f.t.Helper()
	ocftest.Expect(f.t, f.ocfRoot, f.agent, action, f.params, extra, int(want), reason)
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	dev, dir := f.params["OCF_RESKEY_device"], f.params["OCF_RESKEY_directory"]
	probe := map[string]string{"OCF_RESKEY_CRM_meta_interval": "0"}
	f.expect("monitor", probe, ocf.NotRunning, "")
	f.expect("start", nil, ocf.Success, "mounted "+dev+" on "+dir)
	if mps := mountPoints(t, dev); len(mps) != 1 || mps[0] != dir {
		t.Fatalf("%s mounted on %v, want %s", dev, mps, dir)
	}
	f.expect("start", nil, ocf.Success, "") // idempotent
	f.expect("monitor", nil, ocf.Success, "")
	f.expect("monitor", map[string]string{"OCF_CHECK_LEVEL": "20"}, ocf.Success, "")

	// A process living in the mount point keeps it busy; stop must end it.
	squatter := exec.Command("sleep", "300")
	squatter.Dir = dir
	if err := squatter.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- squatter.Wait() }()
	t.Cleanup(func() { _ = squatter.Process.Kill() })
	f.expect("stop", nil, ocf.Success, "keeps "+dir+" busy: sending terminated")
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the process using the mount point survived stop")
	}
	if mps := mountPoints(t, dev); len(mps) != 0 {
		t.Fatalf("still mounted on %v after stop", mps)
	}
	f.expect("stop", nil, ocf.Success, "")
	f.expect("monitor", nil, ocf.NotRunning, "")

	// Without force_unmount a busy mount is a failed stop, naming the user.
	f.expect("start", nil, ocf.Success, "")
	holder := exec.Command("sleep", "300")
	holder.Dir = dir
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	f.expect("stop", map[string]string{"OCF_RESKEY_force_unmount": "false"}, ocf.ErrGeneric, "busy (used by sleep (pid ")
	_ = holder.Process.Kill()
	_ = holder.Wait()
	f.expect("stop", nil, ocf.Success, "unmounted")

	// Something else mounted there is not ours: start refuses, monitor fails.
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	f.expect("start", nil, ocf.ErrGeneric, "already has tmpfs (tmpfs) mounted on it")
	f.expect("monitor", nil, ocf.ErrGeneric, "has tmpfs mounted, not "+dev)
}

func TestValidateAll(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		extra  map[string]string
		want   ocf.Status
		reason string
	}{
		{nil, ocf.Success, ""},
		{map[string]string{"OCF_RESKEY_directory": "srv"}, ocf.ErrConfigured, `parameter directory: "srv" must be an absolute path other than /`},
		{map[string]string{"OCF_RESKEY_directory": "/"}, ocf.ErrConfigured, `parameter directory: "/" must be an absolute path other than /`},
		{map[string]string{"OCF_RESKEY_device": "/dev/nosuchdisk"}, ocf.ErrArgs, "parameter device: no such file or directory"},
		{map[string]string{"OCF_RESKEY_device": "/etc/hostname"}, ocf.ErrArgs, "parameter device: /etc/hostname is not a block device"},
		{map[string]string{"OCF_RESKEY_fsck": "sometimes"}, ocf.ErrConfigured, `parameter fsck: "sometimes" is not a boolean`},
	}
	for _, c := range cases {
		f.expect("validate-all", c.extra, c.want, c.reason)
	}
}

func TestFsckBeforeMount(t *testing.T) {
	f := newFixture(t)
	f.expect("start", map[string]string{"OCF_RESKEY_fsck": "true"}, ocf.Success, "mounted")
	f.expect("stop", nil, ocf.Success, "unmounted")
}

// TestOCFTester runs ClusterLabs' conformance checker on the agent.
func TestOCFTester(t *testing.T) {
	testenv.RequireTool(t, "ocf-tester")
	f := newFixture(t)
	cmd := exec.Command("ocf-tester", "-n", "fs", "-o", "device="+f.params["OCF_RESKEY_device"],
		"-o", "directory="+f.params["OCF_RESKEY_directory"], f.agent)
	cmd.Env = append(os.Environ(), "OCF_ROOT="+f.ocfRoot)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "passed all tests") {
		t.Errorf("ocf-tester: %v\n%s", err, out)
	}
}
