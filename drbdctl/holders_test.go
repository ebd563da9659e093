package drbdctl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

func TestMountsOf(t *testing.T) {
	got, err := MountsOf(readTestdata(t, "mountinfo.txt"), 147, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/srv/pbxha", "/mnt/rec copy"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MountsOf(147:0) = %q, want %q", got, want)
	}
	if got, err := MountsOf(readTestdata(t, "mountinfo.txt"), 147, 5); got != nil || err != nil {
		t.Errorf("MountsOf(147:5) = %q, want none", got)
	}
}

// TestHoldersFindsProcess holds a file open in a child process and expects
// the scan of the real /proc to name it.
func TestHoldersFindsProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	child := exec.Command("sleep", "30")
	child.ExtraFiles = []*os.File{f}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()

	hs, err := HolderScan{}.Holders(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Holder{Kind: "process", PID: child.Process.Pid, What: fmt.Sprintf("sleep (pid %d)", child.Process.Pid)}
	if len(hs) != 1 || hs[0] != want {
		t.Errorf("holders = %+v, want [%+v]", hs, want)
	}
	if _, err := (HolderScan{}).Holders(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("holders of an absent device: want an error")
	}
}
