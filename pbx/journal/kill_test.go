package journal

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary act as a journal writer (see TestMain).
const childEnv = "PBXHA_JOURNAL_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		writeUntilKilled(dir)
		return
	}
	os.Exit(m.Run())
}

// writeUntilKilled appends from 8 goroutines forever, printing each record
// once Append has returned for it.
func writeUntilKilled(dir string) {
	j, _, err := Open(dir, Options{CompactBytes: 64 << 10})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := j.Append(Record{CallID: id, Kind: kindAnswer, Data: answerRecord[:200]}); err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, id)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestKill9: a writer process is SIGKILLed mid-stream; every record whose
// Append had returned is in the journal, and Open recovers without error.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	acked := map[string]bool{}
	lines := bufio.NewScanner(stdout)
	deadline := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for len(acked) < 400 && lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "error") {
			t.Fatal(l)
		} else {
			acked[l] = true
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 400 {
		t.Fatalf("writer acknowledged only %d records before dying on its own", len(acked))
	}
	j, res, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	have := map[string]bool{}
	for _, c := range res.Live() {
		have[c.ID] = true
	}
	for id := range acked {
		if !have[id] {
			t.Errorf("acknowledged record %s lost", id)
		}
	}
	t.Logf("%d acknowledged, %d recovered, damage: %v", len(acked), len(have), res.Damage)
}
