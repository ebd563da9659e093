package vip

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pbxha/internal/netnstest"
	"pbxha/internal/testenv"
	"pbxha/resource-agents/ocf"
	"pbxha/resource-agents/ocf/ocftest"
)

const ipaddr2 = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"

// BenchmarkMonitor compares one recurring monitor of ocf:pbxha:vip with
// one of ocf:heartbeat:IPaddr2 on the same configured address, in the same
// namespace and run: wall time per monitor (ns/op) and programs spawned
// per monitor (procs/op, counted with strace), and the CPU time the
// monitor and its children used (cpu-ms/op).
func BenchmarkMonitor(b *testing.B) {
	testenv.RequireRoot(b)
	testenv.RequireTool(b, "ip", "strace")
	if _, err := os.Stat(ipaddr2); err != nil {
		b.Skipf("%s not installed (resource-agents)", ipaddr2)
	}
	a, _ := netnstest.Pair(b, []string{"198.18.1.1/24"}, []string{"198.18.1.2/24"})
	a.Run(b, "ip", "addr", "add", "198.18.1.50/24", "dev", a.Link)
	_, ours := ocftest.BuildAgent(b, "vip")
	env := append(os.Environ(), "OCF_RESKEY_ip=198.18.1.50", "OCF_RESKEY_cidr_netmask=24", "OCF_RESKEY_nic=va",
		"OCF_RESOURCE_INSTANCE=vip", "OCF_RESKEY_CRM_meta_interval=10000", "OCF_RESKEY_CRM_meta_timeout=20000", "HA_RSCTMP="+b.TempDir())
	for _, agent := range []struct{ name, path, root string }{
		{"pbxha-vip", ours, filepath.Dir(filepath.Dir(filepath.Dir(ours)))},
		{"IPaddr2", ipaddr2, "/usr/lib/ocf"},
	} {
		b.Run(agent.name, func(b *testing.B) {
			env := append(env, "OCF_ROOT="+agent.root)
			a.Do(b, func() {
				procs := spawned(b, agent.path, env)
				var cpu time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					cmd := exec.Command(agent.path, "monitor")
					cmd.Env = env
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("monitor: %v\n%s", err, out)
					}
					// CPU time of the agent and everything it ran: a
					// cost that holds when the machine is busy.
					ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
					cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
				}
				b.StopTimer()
				b.ReportMetric(float64(procs), "procs/op")
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N)/1000, "cpu-ms/op")
			})
		})
	}
}

// spawned runs one monitor under strace and counts the programs it
// executed besides itself.
func spawned(b *testing.B, agent string, env []string) int {
	trace := filepath.Join(b.TempDir(), "trace")
	cmd := exec.Command("strace", "-f", "-qq", "-e", "trace=execve", "-o", trace, agent, "monitor")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("strace monitor: %v\n%s", err, out)
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "execve(") && strings.HasSuffix(l, "= 0") {
			n++
		}
	}
	return n - 1
}

// BenchmarkMonitorInProcess is the monitor's own work, without the process
// start that BenchmarkMonitor includes (fork+exec alone costs several ms on
// some machines).
func BenchmarkMonitorInProcess(b *testing.B) {
	testenv.RequireRoot(b)
	a, _ := netnstest.Pair(b, []string{"198.18.1.1/24"}, []string{"198.18.1.2/24"})
	a.Run(b, "ip", "addr", "add", "198.18.1.50/24", "dev", a.Link)
	env := map[string]string{"OCF_RESKEY_ip": "198.18.1.50", "OCF_RESKEY_CRM_meta_interval": "10000", "HA_RSCTMP": b.TempDir()}
	get := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	a.Do(b, func() {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if st := Agent.Run([]string{"monitor"}, get, io.Discard, io.Discard); st != ocf.Success {
				b.Fatalf("monitor: %v", st)
			}
		}
	})
}
