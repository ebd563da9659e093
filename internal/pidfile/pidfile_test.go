package pidfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "x.pid")
	if err := Write(path, 4242); err != nil {
		t.Fatal(err)
	}
	if pid, err := Read(path); err != nil || pid != 4242 {
		t.Fatalf("Read = %d, %v", pid, err)
	}
	for _, bad := range []string{"1\n", "abc", ""} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(path); err == nil {
			t.Errorf("Read accepted %q", bad)
		}
	}
	if _, err := Read(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("Read of a missing file succeeded")
	}
}
