package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// State is the address's state on a link.
type State int

// Address states, from netlink's IFA_F_* flags.
const (
	Absent    State = iota
	Present         // usable
	Tentative       // IPv6 duplicate address detection still running
	DADFailed       // IPv6 duplicate address detection found another owner
)

func (s State) String() string {
	return [...]string{"absent", "present", "tentative", "dadfailed"}[s]
}

// Add configures p on l. With nodad the kernel skips duplicate address
// detection, so an IPv6 address is usable at once. label is the full IPv4
// label ("eth0:vip") or "". netlink fills in the IPv4 broadcast address
// (as `ip addr add ... brd +` would). Adding an address that is there is no error.
func (l *Link) Add(p netip.Prefix, label string, nodad bool) error {
	a := &netlink.Addr{IPNet: ipnet(p), Label: label}
	if nodad && p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := netlink.AddrAdd(l.nl, a); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add %s to %s: %w", p, l.Name, err)
	}
	return nil
}

// Locate finds the interface holding ip and the address's state there; the
// link is nil when no interface holds it.
func Locate(ip netip.Addr) (*Link, State, error) {
	a, err := find(ip)
	if err != nil || a == nil {
		return nil, Absent, err
	}
	l, err := netlink.LinkByIndex(a.LinkIndex)
	if err != nil {
		return nil, Absent, fmt.Errorf("interface #%d holding %s: %w", a.LinkIndex, ip, err)
	}
	link, err := LookupLink(l.Attrs().Name)
	if err != nil {
		return nil, Absent, err
	}
	return link, addrState(a), nil
}

func find(ip netip.Addr) (*netlink.Addr, error) {
	addrs, err := netlink.AddrList(nil, family(ip))
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for i, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			return &addrs[i], nil
		}
	}
	return nil, nil
}

func addrState(a *netlink.Addr) State {
	switch {
	case a.Flags&unix.IFA_F_DADFAILED != 0:
		return DADFailed
	case a.Flags&unix.IFA_F_TENTATIVE != 0:
		return Tentative
	}
	return Present
}

// Remove deletes ip from whichever interface holds it and reports whether
// it was there.
func Remove(ip netip.Addr) (bool, error) {
	a, err := find(ip)
	if err != nil || a == nil {
		return false, err
	}
	l, err := netlink.LinkByIndex(a.LinkIndex)
	if err != nil {
		return false, fmt.Errorf("interface #%d holding %s: %w", a.LinkIndex, ip, err)
	}
	if err := netlink.AddrDel(l, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return false, fmt.Errorf("remove %s from %s: %w", ip, l.Attrs().Name, err)
	}
	return true, nil
}

func ipnet(p netip.Prefix) *net.IPNet {
	bits := 128
	if p.Addr().Is4() {
		bits = 32
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}
