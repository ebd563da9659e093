package drbdvm

import (
	"fmt"
	"sync/atomic"
)

// network is a network namespace holding one bridge and the guests' tap
// devices: the guests' whole world, invisible from the host's namespaces.
type network struct {
	ns string
}

const bridgeName = "dvmbr0"

var netSeq atomic.Int32

// newNetwork creates a uniquely named namespace with a bridge and one tap
// per name, all up. On error whatever was created is removed.
func newNetwork(taps []string) (*network, error) {
	n := &network{ns: fmt.Sprintf("pbxha-dvm-%d-%d", pid, netSeq.Add(1))}
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
