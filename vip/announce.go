package vip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/packet"
)

// Announcer sends announcements for one address out of one link.
type Announcer struct {
	link *Link
	ip   netip.Addr
	conn *packet.Conn
}

func listen(l *Link, ip netip.Addr) (*packet.Conn, error) {
	proto := etherTypeARP
	if ip.Is6() {
		proto = etherTypeIPv6
	}
	ifi := &net.Interface{Index: l.Index, Name: l.Name, HardwareAddr: l.MAC}
	c, err := packet.Listen(ifi, packet.Datagram, proto, nil)
	if err != nil {
		return nil, fmt.Errorf("packet socket on %s: %w", l.Name, err)
	}
	return c, nil
}

// NewAnnouncer opens the packet socket announcements leave through.
func NewAnnouncer(l *Link, ip netip.Addr) (*Announcer, error) {
	c, err := listen(l, ip)
	if err != nil {
		return nil, err
	}
	return &Announcer{link: l, ip: ip, conn: c}, nil
}

// Close releases the socket.
func (a *Announcer) Close() error { return a.conn.Close() }

// Announce sends one round: both gratuitous ARP forms for IPv4, one
// unsolicited neighbour advertisement for IPv6.
func (a *Announcer) Announce() error {
	if a.ip.Is4() {
		for _, p := range gratuitousARP(a.link.MAC, a.ip) {
			if _, err := a.conn.WriteTo(p, &packet.Addr{HardwareAddr: broadcastMAC}); err != nil {
				return fmt.Errorf("gratuitous ARP for %s on %s: %w", a.ip, a.link.Name, err)
			}
		}
		return nil
	}
	if _, err := a.conn.WriteTo(unsolicitedNA(a.link.MAC, a.ip), &packet.Addr{HardwareAddr: multicastMAC(allNodes)}); err != nil {
		return fmt.Errorf("neighbour advertisement for %s on %s: %w", a.ip, a.link.Name, err)
	}
	return nil
}

// Repeat sends count rounds interval apart, the first at once, until ctx ends.
func (a *Announcer) Repeat(ctx context.Context, count int, interval time.Duration) error {
	for i := 0; i < count; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(interval):
			}
		}
		if err := a.Announce(); err != nil {
			return err
		}
	}
	return nil
}

// ProbeOwner asks the segment who holds ip (an RFC 5227 ARP probe, or a
// duplicate-address-detection solicitation for IPv6) and waits up to wait
// for an answer from a MAC other than l's. It returns that MAC, or nil when
// nobody else answered.
func ProbeOwner(ctx context.Context, l *Link, ip netip.Addr, wait time.Duration) (net.HardwareAddr, error) {
	c, err := listen(l, ip)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var probe []byte
	dst := broadcastMAC
	if ip.Is4() {
		probe = arpProbe(l.MAC, ip)
	} else {
		probe, dst = dadProbe(ip), multicastMAC(solicitedNode(ip))
	}
	if _, err := c.WriteTo(probe, &packet.Addr{HardwareAddr: dst}); err != nil {
		return nil, fmt.Errorf("probe for %s on %s: %w", ip, l.Name, err)
	}
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.SetReadDeadline(deadline); err != nil {
		return nil, fmt.Errorf("probe for %s: %w", ip, err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("probe for %s on %s: %w", ip, l.Name, err)
		}
		if mac := answer(buf[:n], ip, from); mac != nil && !bytes.Equal(mac, l.MAC) {
			return mac, nil
		}
	}
}

// answer returns the MAC of a host claiming ip in packet b, or nil.
func answer(b []byte, ip netip.Addr, from net.Addr) net.HardwareAddr {
	if ip.Is4() {
		mac, _ := parseARPReply(b, ip)
		return mac
	}
	target, lla, err := parseNA(b)
	if err != nil || target != ip {
		return nil
	}
	if lla == nil { // the option is optional in solicited advertisements
		if pa, ok := from.(*packet.Addr); ok {
			lla = pa.HardwareAddr
		}
	}
	return lla
}
