// Package vip manages a virtual IP address on the node that holds it: it
// finds the interface, adds and removes the address with netlink, tells the
// segment where the address now lives (gratuitous ARP for IPv4, unsolicited
// neighbour advertisements for IPv6), and probes for another owner. It runs
// no programs: everything is netlink and AF_PACKET, so a monitor costs a few
// syscalls.
package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Link is a network interface as the agent needs to see it.
type Link struct {
	Name    string
	Index   int
	MAC     net.HardwareAddr
	Up      bool // administratively up
	Carrier bool // lower layer up
	nl      netlink.Link
}

// ErrNoLink reports an interface that does not exist on this host.
var ErrNoLink = errors.New("no such interface")

// LookupLink returns the named interface.
func LookupLink(name string) (*Link, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("interface %s: %w", name, ErrNoLink)
		}
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	a := l.Attrs()
	return &Link{
		Name: a.Name, Index: a.Index, MAC: a.HardwareAddr, nl: l,
		Up:      a.RawFlags&unix.IFF_UP != 0,
		Carrier: a.RawFlags&unix.IFF_LOWER_UP != 0,
	}, nil
}

// Usable reports why the link cannot carry the address, or nil.
func (l *Link) Usable() error {
	switch {
	case !l.Up:
		return fmt.Errorf("interface %s is down", l.Name)
	case !l.Carrier:
		return fmt.Errorf("interface %s has no carrier", l.Name)
	}
	return nil
}

func family(ip netip.Addr) int {
	if ip.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// Route is where the routing table says ip lives: the interface of the most
// specific connected (gateway-less) route containing ip, and that route's
// prefix length, the default netmask for the address.
type Route struct {
	Link string
	Bits int
}

// FindRoute picks the interface for ip the way IPaddr2's findif does, from
// the main routing table.
func FindRoute(ip netip.Addr) (Route, error) {
	routes, err := netlink.RouteListFiltered(family(ip), &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return Route{}, fmt.Errorf("list routes: %w", err)
	}
	best, bestIdx := -1, 0
	for _, r := range routes {
		if r.Dst == nil || r.Gw != nil || r.LinkIndex == 0 {
			continue
		}
		p, ok := netipPrefix(r.Dst)
		if !ok || !p.Contains(ip) || p.Bits() == 0 || (ip.Is6() && p.Addr().IsLinkLocalUnicast()) {
			continue
		}
		if p.Bits() > best {
			best, bestIdx = p.Bits(), r.LinkIndex
		}
	}
	if best < 0 {
		return Route{}, fmt.Errorf("no connected route contains %s: set nic and cidr_netmask", ip)
	}
	l, err := netlink.LinkByIndex(bestIdx)
	if err != nil {
		return Route{}, fmt.Errorf("interface #%d: %w", bestIdx, err)
	}
	return Route{Link: l.Attrs().Name, Bits: best}, nil
}

func netipPrefix(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits), true
}
