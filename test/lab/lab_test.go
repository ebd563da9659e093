package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"pbxha/internal/testenv"
)

func buildBinaries(t *testing.T) Binaries {
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+"/", "pbxha/cmd/pbxha-lab", "pbxha/cmd/pbxha-ocf", "pbxha/cmd/pbx").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return Binaries{LabBin: filepath.Join(dir, "pbxha-lab"), AgentBin: filepath.Join(dir, "pbxha-ocf"), PBX: filepath.Join(dir, "pbx")}
}

// upLab brings up a fresh lab for one test and tears it down after it.
func upLab(t *testing.T, ctx context.Context) Binaries {
	testenv.Slow(t)
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "corosync", "pacemakerd", "crm", "crm_mon", "nsenter", "ping", "losetup", "mkfs.ext4")
	bins := buildBinaries(t)
	unlock, err := Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
		unlock()
	})
	if err := Up(ctx, bins, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	return bins
}

// load configures the cluster from config/<name> (with @KEY@ placeholders
// replaced by vars) and waits until all its resources run.
func load(t *testing.T, ctx context.Context, limit time.Duration, name string, vars ...string) *Cluster {
	t.Helper()
	crm, err := os.ReadFile("config/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := Configure(ctx, Nodes[0], strings.NewReplacer(vars...).Replace(string(crm))); err != nil {
		t.Fatal(err)
	}
	c, err := WaitCluster(ctx, Nodes[0], limit, AllStarted)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runs() int {
	if n, err := strconv.Atoi(os.Getenv("PBXHA_LAB_RUNS")); err == nil && n > 0 {
		return n
	}
	return 1
}

// appendReport adds rows to the PBXHA_LAB_REPORT file, if one is named.
func appendReport(t *testing.T, text string) {
	path := os.Getenv("PBXHA_LAB_REPORT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Error(err)
	}
}

// serve makes resource (configured from config/<resource>.crm) the only
// one serving the VIP: two primitives for one address would fight, each
// one's probe finding the other's address.
func serve(t *testing.T, ctx context.Context, resource, other string) {
	t.Helper()
	if c, err := Status(ctx, Nodes[0]); err == nil {
		if _, ok := c.Resource(other); ok {
			unload(t, ctx, time.Minute, "", other)
		}
	}
	load(t, ctx, time.Minute, resource+".crm")
}

// TestVIPFailover brings up the 3-node cluster, serves the VIP with
// ocf:pbxha:vip and with ocf:heartbeat:IPaddr2 in turn, and hard-kills the
// node holding it, measuring from the client how long the VIP is silent.
// PBXHA_LAB_RUNS (default 1) sets the rounds; PBXHA_LAB_REPORT names a
// file that receives the figures as a Markdown table.
func TestVIPFailover(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/IPaddr2"); err != nil {
		testenv.RequireTool(t, "ocf-tester") // the resource-agents package
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	upLab(t, ctx)
	validateWithCrmResource(t, ctx)
	variants := [][2]string{{"vip", "vip-ipaddr2"}, {"vip-ipaddr2", "vip"}}
	results := map[string][]Failover{}
	for i := 0; i < runs(); i++ {
		for _, v := range variants {
			serve(t, ctx, v[0], v[1])
			f, err := MeasureFailover(ctx, v[0], PingVIP)
			if err != nil {
				t.Fatalf("%s failover (run %d): %v", v[0], i+1, err)
			}
			t.Logf("%-12s %s -> %s: VIP answered %4d ms after the kill; start op ran %d ms",
				f.Resource, f.From, f.To, f.Recovery.Milliseconds(), f.StartExec.Milliseconds())
			if f.To == f.From || f.Recovery <= 0 || f.Recovery > 30*time.Second {
				t.Errorf("%s: implausible failover %+v", v[0], f)
			}
			results[v[0]] = append(results[v[0]], f)
		}
	}
	appendReport(t, report(results))
}

// unload stops resources (the members of group, or a lone primitive when
// group is "") and removes them from the CIB, waiting up to limit for them
// to stop. Each member is stopped on its own: deleting the group would drop
// the group's stopped state and let the remaining members start again.
func unload(t *testing.T, ctx context.Context, limit time.Duration, group string, members ...string) {
	t.Helper()
	for _, m := range members {
		if _, err := On(ctx, Nodes[0], "crm", "resource", "stop", m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := WaitCluster(ctx, Nodes[0], limit, func(c *Cluster) bool {
		for _, m := range members {
			if r, _ := c.Resource(m); r.Active {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if group != "" {
		members = append(members, group)
	}
	deleteResources(t, ctx, members...)
}

// deleteResources removes stopped resources from the CIB, one at a time
// (deleting a group's last member deletes the group: "does not exist" is
// done). crmsh refuses while it still sees one running, which can lag
// crm_mon's view by a moment: retry for a bounded time.
func deleteResources(t *testing.T, ctx context.Context, ids ...string) {
	t.Helper()
	for _, id := range ids {
		var err error
		if werr := waitFor(ctx, 30*time.Second, func() bool {
			_, err = On(ctx, Nodes[0], "crm", "configure", "delete", id)
			if err != nil && strings.Contains(err.Error(), "does not exist") {
				err = nil
			}
			if err != nil {
				time.Sleep(500 * time.Millisecond)
			}
			return err == nil
		}); werr != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
	}
}

// TestPBXFailover runs the whole stack (fs, vip, pbx as one group) and,
// in the same lab, the stock stack it replaces (Filesystem, IPaddr2,
// kamailio), alternately, and hard-kills the node running each: the client
// measures, with SIP OPTIONS every 50 ms, how long SIP is silent. For ours
// it also checks that a user created before the kill is there after it:
// the data moved with the PBX.
func TestPBXFailover(t *testing.T) {
	testenv.RequireTool(t, "kamailio", "sipsak")
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/kamailio"); err != nil {
		t.Fatalf("ocf:heartbeat:kamailio missing (resource-agents): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bins := upLab(t, ctx)
	dev, err := os.Readlink(DiskLink)
	if err != nil {
		t.Fatal(err)
	}
	kamCfg, err := filepath.Abs("config/kamailio.cfg")
	if err != nil {
		t.Fatal(err)
	}
	type stack struct {
		name, file, group, service string
		members                    []string
	}
	ours := stack{"fs + vip + pbx (ocf:pbxha)", "pbx.crm", "pbxha", "pbx", []string{"pbx-fs", "pbx-vip", "pbx"}}
	ref := stack{"Filesystem + IPaddr2 + kamailio (stock)", "reference.crm", "ref-stack", "ref-kamailio", []string{"ref-fs", "ref-vip", "ref-kamailio"}}
	results := map[string][]Failover{}
	var loaded *stack
	for i := 0; i < runs(); i++ {
		for _, s := range []stack{ours, ref} {
			if loaded != nil {
				unload(t, ctx, 2*time.Minute, loaded.group, loaded.members...)
			}
			c := load(t, ctx, 2*time.Minute, s.file, "@DEVICE@", dev, "@KAMAILIO_CFG@", kamCfg)
			s := s
			loaded = &s
			if s.service == "pbx" && i == 0 {
				r, _ := c.Resource("pbx")
				if _, err := On(ctx, r.Node(), bins.PBX, "user", "add", "--data", DataDir, "1001", "--password", "s3cret-1001"); err != nil {
					t.Fatal(err)
				}
			}
			f, err := MeasureFailover(ctx, s.service, SIPVIP)
			if err != nil {
				t.Fatalf("%s failover (run %d): %v", s.name, i+1, err)
			}
			t.Logf("%-40s %s -> %s: SIP answered %4d ms after the kill; %s start op ran %d ms",
				s.name, f.From, f.To, f.Recovery.Milliseconds(), s.service, f.StartExec.Milliseconds())
			if s.service == "pbx" {
				out, err := On(ctx, f.To, bins.PBX, "user", "list", "--data", DataDir)
				if err != nil || !strings.Contains(string(out), "1001") {
					t.Fatalf("after failover to %s the data volume lacks user 1001: %v\n%s", f.To, err, out)
				}
			}
			results[s.name] = append(results[s.name], f)
		}
	}
	var b strings.Builder
	for _, s := range []stack{ours, ref} {
		var rec, exe []time.Duration
		for _, f := range results[s.name] {
			rec, exe = append(rec, f.Recovery), append(exe, f.StartExec)
		}
		fmt.Fprintf(&b, "| %s, SIP OPTIONS from the client | %d | %s | %s (%s) |\n", s.name, len(results[s.name]), spread(rec), spread(exe), s.service)
	}
	appendReport(t, b.String())
}

// validateWithCrmResource checks that Pacemaker's own tool finds and runs
// the agent on a node, good and bad configurations alike.
func validateWithCrmResource(t *testing.T, ctx context.Context) {
	t.Helper()
	args := []string{"crm_resource", "--validate", "--class", "ocf", "--provider", "pbxha", "--agent", "vip", "--option"}
	if out, err := On(ctx, Nodes[0], append(args, "ip=198.18.0.50")...); err != nil {
		t.Errorf("crm_resource --validate of a good configuration: %v\n%s", err, out)
	}
	out, err := On(ctx, Nodes[0], append(args, "ip=10.0.0.300")...)
	if err == nil || !strings.Contains(string(out)+err.Error(), `parameter ip: "10.0.0.300" is not an IPv4 or IPv6 address`) {
		t.Errorf("crm_resource --validate of a bad address: %v\n%s", err, out)
	}
}

func report(results map[string][]Failover) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| agent | runs | VIP silent after hard kill: median (all runs) | start op exec-time: median (all runs) |\n|---|---|---|---|\n")
	for _, name := range []string{"vip", "vip-ipaddr2"} {
		fs := results[name]
		var rec, exe []time.Duration
		for _, f := range fs {
			rec, exe = append(rec, f.Recovery), append(exe, f.StartExec)
		}
		agent := map[string]string{"vip": "ocf:pbxha:vip", "vip-ipaddr2": "ocf:heartbeat:IPaddr2"}[name]
		fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", agent, len(fs), spread(rec), spread(exe))
	}
	return b.String()
}

// spread lists durations, median first; zeros (not measured) are left out.
func spread(ds []time.Duration) string {
	ds = slices.DeleteFunc(slices.Clone(ds), func(d time.Duration) bool { return d == 0 })
	if len(ds) == 0 {
		return "-"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	all := make([]string, len(ds))
	for i, d := range ds {
		all[i] = strconv.FormatInt(d.Milliseconds(), 10)
	}
	// Every run is listed: Pacemaker's scheduling adds either ~0 or ~1 s
	// (see DESIGN.md), so the runs fall in two groups a median hides.
	return fmt.Sprintf("%s ms (all: %s)", all[len(all)/2], strings.Join(all, ", "))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
