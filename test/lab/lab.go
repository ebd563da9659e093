package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Binaries are the programs the lab runs: LabBin (pbxha-lab, whose hidden
// init command is each node's PID 1), AgentBin (pbxha-ocf, served on every
// node as ocf:pbxha:*) and, optionally, PBX (pbx: then the lab gets a data
// volume initialised for it; ocf:pbxha:pbx runs the pbx beside AgentBin).
type Binaries struct {
	LabBin, AgentBin, PBX string
}

func (b *Binaries) absolute() error {
	for _, p := range []*string{&b.LabBin, &b.AgentBin, &b.PBX} {
		if p == &b.PBX && *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%w (run `make build`)", err)
		}
		*p = abs
	}
	return nil
}

// Up builds the lab from scratch (tearing down any previous one) and waits
// until all three nodes are online with a quorate DC. Progress goes to w.
func Up(ctx context.Context, bins Binaries, w io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("the lab needs root (network, PID and mount namespaces)")
	}
	for _, tool := range []string{"ip", "nsenter", "corosync", "pacemakerd", "crm_mon", "crm", "cibadmin"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: run `make deps` (Debian packages pacemaker, corosync, crmsh, iproute2, util-linux)", tool)
		}
	}
	if err := bins.absolute(); err != nil {
		return err
	}
	if err := Down(); err != nil {
		return fmt.Errorf("tear down the previous lab: %w", err)
	}
	fmt.Fprintf(w, "lab: network %s, nodes %s, client %s\n", SwitchNS, strings.Join(Nodes, " "), ClientNS)
	if err := buildTopology(); err != nil {
		return err
	}
	if bins.PBX != "" {
		if err := os.MkdirAll(StateDir, 0o755); err != nil {
			return err
		}
		if err := setupDisk(bins.PBX); err != nil {
			return err
		}
		fmt.Fprintf(w, "lab: PBX volume %s (ext4, pbx init done), mounted by ocf:pbxha:fs on %s\n", DiskLink, DataDir)
	}
	for _, n := range Nodes {
		if err := prepareNode(n); err != nil {
			return fmt.Errorf("prepare %s: %w", n, err)
		}
		if err := startNode(n, bins); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(StateDir, "binaries"), []byte(bins.LabBin+"\n"+bins.AgentBin+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "lab: corosync and pacemaker started; waiting for quorum and a DC\n")
	start := time.Now()
	c, err := WaitCluster(ctx, Nodes[0], 180*time.Second, func(c *Cluster) bool { return c.Quorate && c.DC != "" && c.Online() == len(Nodes) })
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "lab: %d nodes online, DC %s, after %.1f s\n", c.Online(), c.DC, time.Since(start).Seconds())
	return nil
}

// Down kills every lab node and removes the namespaces and state. It is
// safe to call when nothing (or only part) is up.
func Down() error {
	var errs []error
	for _, n := range Nodes {
		if pid := InitPID(n); pid != 0 {
			if err := KillNode(n); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, removeTopology()...)
	if err := removeDisk(); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(StateDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Revive boots a killed node again: fresh /run and /dev/shm (the dead
// processes' IPC files must go), its switch port up.
func Revive(node string) error {
	if InitPID(node) != 0 {
		return fmt.Errorf("revive %s: still running", node)
	}
	b, err := os.ReadFile(filepath.Join(StateDir, "binaries"))
	lines := strings.Fields(string(b))
	if err != nil || len(lines) != 2 {
		return fmt.Errorf("revive %s: lab not set up (%v)", node, err)
	}
	if err := freshRuntimeDirs(node); err != nil {
		return fmt.Errorf("revive %s: %w", node, err)
	}
	if err := SetPort(node, true); err != nil {
		return err
	}
	return startNode(node, Binaries{LabBin: lines[0], AgentBin: lines[1]})
}

// Status asks node's crm_mon for the cluster state.
func Status(ctx context.Context, node string) (*Cluster, error) {
	out, err := On(ctx, node, "crm_mon", "--one-shot", "--output-as=xml")
	if err != nil {
		return nil, err
	}
	return ParseCrmMon(out)
}

// WaitCluster polls node's view of the cluster until ok holds or limit passes.
func WaitCluster(ctx context.Context, node string, limit time.Duration, ok func(*Cluster) bool) (*Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		c, err := Status(ctx, node)
		if err == nil && ok(c) {
			return c, nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("dc=%q quorate=%v online=%d resources=%+v", c.DC, c.Quorate, c.Online(), c.Resources)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster not ready after %v (as seen from %s): %v", limit, node, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Configure loads crm shell configuration text on node (crm configure load update).
func Configure(ctx context.Context, node, crmText string) error {
	f := filepath.Join(nodeDir(node), "config.crm")
	if err := os.WriteFile(f, []byte(crmText), 0o644); err != nil {
		return err
	}
	_, err := On(ctx, node, "crm", "configure", "load", "update", f)
	return err
}
