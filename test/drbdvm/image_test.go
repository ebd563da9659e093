package drbdvm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"pbxha/internal/testenv"
)

// TestImageCpioUnpacks writes an image and unpacks it with busybox cpio,
// the same newc reader family the kernel uses, checking every entry.
func TestImageCpioUnpacks(t *testing.T) {
	testenv.RequireTool(t, "busybox")
	im := newImage()
	files := map[string]string{
		"/init":              "#!/bin/sh\n",
		"/a/b/c/deep.txt":    "deep",
		"/empty":             "",
		"/odd/length-3.bin":  "xyz",
		"/odd/length-13.bin": "thirteen-byte",
	}
	for p, data := range files {
		im.addFile(p, 0o755, []byte(data))
	}
	im.addLink("/a/link", "b/c/deep.txt")
	var buf bytes.Buffer
	if err := im.writeCpio(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("busybox", "cpio", "-i", "-d")
	cmd.Dir, cmd.Stdin = dir, &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("busybox cpio -i: %v\n%s", err, out)
	}
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
		if st, err := os.Stat(filepath.Join(dir, p)); err == nil && st.Mode().Perm() != 0o755 {
			t.Errorf("%s mode = %v, want 0755", p, st.Mode().Perm())
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "a", "link")); err != nil || target != "b/c/deep.txt" {
		t.Errorf("a/link -> %q, %v; want b/c/deep.txt", target, err)
	}
}
