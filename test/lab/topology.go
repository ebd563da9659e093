package lab

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// Fixed names: docs, later tests and test/lab/on rely on them.
const (
	SwitchNS   = "pbxha-sw"
	ClientNS   = "pbxha-c1"
	bridge     = "br0"
	StateDir   = "/var/lib/pbxha-lab"
	subnetBits = 24
)

var (
	// Nodes are the cluster nodes, in node-id order.
	Nodes    = []string{"pbxha-n1", "pbxha-n2", "pbxha-n3"}
	ClientIP = netip.MustParseAddr("198.18.0.100")
	// VIP is the address the PBX is reached on.
	VIP = netip.MustParseAddr("198.18.0.50")
)

// NodeIP is the address of node i (0-based).
func NodeIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)}) }

// port is the name of the switch-side veth of a namespace.
func port(ns string) string { return strings.TrimPrefix(ns, "pbxha-") }

func sh(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func nsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

// buildTopology creates the switch, node and client namespaces and wires them.
func buildTopology() error {
	if err := sh("ip", "netns", "add", SwitchNS); err != nil {
		return err
	}
	steps := [][]string{
		{"ip", "-n", SwitchNS, "link", "add", bridge, "type", "bridge", "forward_delay", "0"},
		{"ip", "-n", SwitchNS, "link", "set", bridge, "up"},
	}
	hosts := map[string]netip.Addr{ClientNS: ClientIP}
	for i, n := range Nodes {
		hosts[n] = NodeIP(i)
	}
	for ns, ip := range hosts {
		p := port(ns)
		steps = append(steps,
			[]string{"ip", "netns", "add", ns},
			[]string{"ip", "-n", ns, "link", "set", "lo", "up"},
			[]string{"ip", "-n", SwitchNS, "link", "add", p, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"ip", "-n", SwitchNS, "link", "set", p, "master", bridge, "up"},
			[]string{"ip", "-n", ns, "addr", "add", fmt.Sprintf("%s/%d", ip, subnetBits), "dev", "eth0"},
			[]string{"ip", "-n", ns, "link", "set", "eth0", "up"},
		)
	}
	for _, s := range steps {
		if err := sh(s[0], s[1:]...); err != nil {
			return fmt.Errorf("build lab network: %w", err)
		}
	}
	return nil
}

// SetPort brings a namespace's switch port up or down (the cable).
func SetPort(ns string, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return sh("ip", "-n", SwitchNS, "link", "set", port(ns), state)
}

func removeTopology() []error {
	var errs []error
	for _, ns := range append(append([]string{}, Nodes...), ClientNS, SwitchNS) {
		if nsExists(ns) {
			if err := sh("ip", "netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}
