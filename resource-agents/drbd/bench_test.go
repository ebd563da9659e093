package drbd

import (
	"context"
	"io"
	"os"
	"testing"

	"pbxha/drbdctl"
	"pbxha/resource-agents/ocf"
)

// replay answers every command with the same recorded output.
type replay []byte

func (r replay) Run(context.Context, string, ...string) ([]byte, error) { return r, nil }
func (r replay) Stream(context.Context, string, ...string) (io.ReadCloser, error) {
	panic("not used by monitor")
}

// BenchmarkMonitor is a recurring monitor in a steady state: the agent's
// own cost per call, without the drbdsetup process (one per monitor).
func BenchmarkMonitor(b *testing.B) {
	out, err := os.ReadFile("testdata/primary-uptodate-connected.events2")
	if err != nil {
		b.Fatal(err)
	}
	a := New(Deps{Runner: replay(out)})
	dir := b.TempDir()
	env := map[string]string{"OCF_RESKEY_drbd_resource": "pbx", "OCF_RESOURCE_INSTANCE": "drbd:0",
		"HA_RSCTMP": dir, "OCF_RESKEY_CRM_meta_interval": "29000", "OCF_RESKEY_CRM_meta_timeout": "20000"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	b.ReportAllocs()
	for b.Loop() {
		if st := a.Run([]string{"monitor"}, getenv, io.Discard, io.Discard); st != ocf.RunningPromoted {
			b.Fatalf("monitor = %v", st)
		}
	}
}

var _ drbdctl.Runner = replay(nil)
