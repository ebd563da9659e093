package drbdvm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// network is a network namespace holding one bridge and the guests' tap
// devices: the guests' whole world, invisible from the host's namespaces.
type network struct {
	ns string
}

const (
	bridgeName = "dvmbr0"
	nsPrefix   = "pbxha-dvm-" // + PID of the test process + sequence
)

var (
	pid    = os.Getpid()
	netSeq atomic.Int32
)

// removeStale deletes namespaces (with their taps) left by test processes
// that died before their cleanup ran.
func removeStale() error {
	out, err := runHost("", "ip", "netns", "list")
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		owner, _, ok := strings.Cut(strings.TrimPrefix(name, nsPrefix), "-")
		ownerPID, err := strconv.Atoi(owner)
		if !strings.HasPrefix(name, nsPrefix) || !ok || err != nil || syscall.Kill(ownerPID, 0) != syscall.ESRCH {
			continue
		}
		if _, err := runHost("", "ip", "netns", "del", name); err != nil {
			return fmt.Errorf("remove stale namespace: %w", err)
		}
	}
	return nil
}

// newNetwork removes stale namespaces, then creates a uniquely named one with a bridge and one tap
// per name, all up. On error whatever was created is removed.
func newNetwork(taps []string) (*network, error) {
	if err := removeStale(); err != nil {
		return nil, err
	}
	n := &network{ns: fmt.Sprintf("%s%d-%d", nsPrefix, pid, netSeq.Add(1))}
	if _, err := runHost("", "ip", "netns", "add", n.ns); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	steps := [][]string{
		{"link", "add", bridgeName, "type", "bridge"},
		{"link", "set", bridgeName, "up"},
	}
	for _, tap := range taps {
		steps = append(steps,
			[]string{"tuntap", "add", "dev", tap, "mode", "tap"},
			[]string{"link", "set", tap, "master", bridgeName},
			[]string{"link", "set", tap, "up"})
	}
	for _, s := range steps {
		if err := n.ip(s...); err != nil {
			n.close()
			return nil, err
		}
	}
	return n, nil
}

// ip runs an ip(8) command inside the namespace.
func (n *network) ip(args ...string) error {
	_, err := runHost("", "ip", append([]string{"-n", n.ns}, args...)...)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", n.ns, err)
	}
	return nil
}

// setLink brings a tap up or down: down cuts its guest off the bridge.
func (n *network) setLink(tap string, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return n.ip("link", "set", tap, state)
}

// close deletes the namespace and with it the bridge and taps.
func (n *network) close() error {
	if _, err := runHost("", "ip", "netns", "del", n.ns); err != nil {
		return fmt.Errorf("delete namespace: %w", err)
	}
	return nil
}
