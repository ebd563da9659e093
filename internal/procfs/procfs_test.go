package procfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// testdata/mountinfo-debian12.txt is this machine's /proc/self/mountinfo
// (first lines) plus a DRBD mount whose path has an escaped space.
func TestParseMountinfo(t *testing.T) {
	b, err := os.ReadFile("testdata/mountinfo-debian12.txt")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ParseMountinfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 8 {
		t.Fatalf("%d mounts", len(ms))
	}
	last := ms[len(ms)-1]
	want := Mount{Major: 147, Minor: 0, Root: "/", MountPoint: "/mnt/rec copy", Options: "rw,noatime", FSType: "ext4", Source: "/dev/drbd0", SuperOptions: "rw"}
	if last != want {
		t.Errorf("last mount = %+v\nwant %+v", last, want)
	}
	if root := ms[5]; root.MountPoint != "/" || root.Major != 254 || root.FSType != "ext4" || root.Source != "/dev/vda" {
		t.Errorf("root mount = %+v", root)
	}
	for _, bad := range []string{"1 2 3\n", "36 35 x:y / / rw - ext4 /dev/a rw\n", "36 35 8:1 / / rw shared:1 ext4 /dev/a rw\n"} {
		if _, err := ParseMountinfo([]byte(bad)); err == nil {
			t.Errorf("ParseMountinfo(%q) accepted", bad)
		}
	}
	if _, err := Mounts(); err != nil {
		t.Errorf("Mounts: %v", err)
	}
}

func TestUsersBelow(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	cmd.Dir = filepath.Join(dir, "sub")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		ps, err := Users("", Below(dir))
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 1 && ps[0].PID == cmd.Process.Pid && ps[0].Comm == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Users(below %s) = %v, want sleep (pid %d)", dir, ps, cmd.Process.Pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ps, _ := Users("", Below(dir+"x")); len(ps) != 0 {
		t.Errorf("a sibling prefix matched: %v", ps)
	}
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for Alive(pid) && time.Now().Before(deadline) { // exits and stays a zombie until waited for
		time.Sleep(10 * time.Millisecond)
	}
	if Alive(pid) {
		t.Error("an exited, unreaped child counts as alive")
	}
	_ = cmd.Wait()
	if Alive(pid) {
		t.Error("a reaped child counts as alive")
	}
}
