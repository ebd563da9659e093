package vip

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
)

// Frame payloads for announcements and duplicate probes. They are sent on
// AF_PACKET datagram sockets, so the kernel writes the Ethernet header from
// the destination MAC and the protocol; these functions build what follows.

const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd

	arpRequest = 1
	arpReply   = 2

	icmpv6NS = 135
	icmpv6NA = 136
)

var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	zeroMAC      = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	allNodes     = netip.MustParseAddr("ff02::1")
)

// arpPacket builds an Ethernet/IPv4 ARP packet (RFC 826).
func arpPacket(op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1) // Ethernet
	binary.BigEndian.PutUint16(b[2:], 0x0800)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], op)
	copy(b[8:14], sha)
	s4, t4 := spa.As4(), tpa.As4()
	copy(b[14:18], s4[:])
	copy(b[18:24], tha)
	copy(b[24:28], t4[:])
	return b
}

// gratuitousARP returns the two announcement forms Linux and most switches
// honour: a request with sender = target = ip (RFC 5227 announcement) and a
// reply with target hardware address = sender's, which the Linux
// neighbour code treats as gratuitous (arp_is_garp) and so applies even
// within locktime of a previous update.
func gratuitousARP(mac net.HardwareAddr, ip netip.Addr) [][]byte {
	return [][]byte{
		arpPacket(arpRequest, mac, ip, zeroMAC, ip),
		arpPacket(arpReply, mac, ip, mac, ip),
	}
}

// arpProbe is an RFC 5227 probe: sender IP 0.0.0.0, so answering hosts do
// not learn anything from it and the owner of ip replies to mac.
func arpProbe(mac net.HardwareAddr, ip netip.Addr) []byte {
	return arpPacket(arpRequest, mac, netip.IPv4Unspecified(), zeroMAC, ip)
}

// parseARPReply returns the sender of an ARP reply claiming ip.
func parseARPReply(b []byte, ip netip.Addr) (net.HardwareAddr, bool) {
	if len(b) < 28 || binary.BigEndian.Uint16(b[0:]) != 1 || binary.BigEndian.Uint16(b[2:]) != 0x0800 ||
		b[4] != 6 || b[5] != 4 || binary.BigEndian.Uint16(b[6:]) != arpReply {
		return nil, false
	}
	spa := netip.AddrFrom4([4]byte(b[14:18]))
	if spa != ip {
		return nil, false
	}
	return net.HardwareAddr(append([]byte(nil), b[8:14]...)), true
}

// solicitedNode is the solicited-node multicast address of ip (RFC 4291).
func solicitedNode(ip netip.Addr) netip.Addr {
	a := ip.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: a[13], 14: a[14], 15: a[15]})
}

// multicastMAC maps an IPv6 multicast address to its Ethernet group (RFC 2464).
func multicastMAC(ip netip.Addr) net.HardwareAddr {
	a := ip.As16()
	return net.HardwareAddr{0x33, 0x33, a[12], a[13], a[14], a[15]}
}

// ipv6Packet wraps an ICMPv6 message (checksum field zero) in an IPv6
// header with hop limit 255, as neighbour discovery requires, and fills in
// the checksum.
func ipv6Packet(src, dst netip.Addr, icmp []byte) []byte {
	b := make([]byte, 40+len(icmp))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(icmp)))
	b[6] = 58 // ICMPv6
	b[7] = 255
	s, d := src.As16(), dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	copy(b[40:], icmp)
	binary.BigEndian.PutUint16(b[42:], icmpv6Checksum(s, d, icmp))
	return b
}

func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(p []byte) {
		for i := 0; i+1 < len(p); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(p[i:]))
		}
		if len(p)%2 == 1 {
			sum += uint32(p[len(p)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	var pseudo [8]byte
	binary.BigEndian.PutUint32(pseudo[0:], uint32(len(msg)))
	pseudo[7] = 58
	add(pseudo[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// unsolicitedNA is an unsolicited neighbour advertisement for ip with the
// override flag (RFC 4861 7.2.6) sent from ip to all nodes.
func unsolicitedNA(mac net.HardwareAddr, ip netip.Addr) []byte {
	t := ip.As16()
	icmp := make([]byte, 32)
	icmp[0] = icmpv6NA
	icmp[4] = 0x20 // Override
	copy(icmp[8:24], t[:])
	icmp[24], icmp[25] = 2, 1 // target link-layer address option, 8 bytes
	copy(icmp[26:32], mac)
	return ipv6Packet(ip, allNodes, icmp)
}

// dadProbe is a neighbour solicitation from the unspecified address to
// ip's solicited-node group, as duplicate address detection sends it: an
// owner of ip answers with an advertisement to all nodes.
func dadProbe(ip netip.Addr) []byte {
	t := ip.As16()
	icmp := make([]byte, 24)
	icmp[0] = icmpv6NS
	copy(icmp[8:24], t[:])
	return ipv6Packet(netip.IPv6Unspecified(), solicitedNode(ip), icmp)
}

var errNotNA = errors.New("not a neighbour advertisement")

// parseNA returns the target and the target link-layer address option of
// an IPv6 packet carrying a neighbour advertisement.
func parseNA(b []byte) (netip.Addr, net.HardwareAddr, error) {
	if len(b) < 40+24 || b[0]>>4 != 6 || b[6] != 58 || b[40] != icmpv6NA || b[7] != 255 {
		return netip.Addr{}, nil, errNotNA
	}
	target := netip.AddrFrom16([16]byte(b[48:64]))
	var lla net.HardwareAddr
	for opts := b[64:]; len(opts) >= 8; {
		n := int(opts[1]) * 8
		if n == 0 || n > len(opts) {
			break
		}
		if opts[0] == 2 && n >= 8 {
			lla = net.HardwareAddr(append([]byte(nil), opts[2:8]...))
		}
		opts = opts[n:]
	}
	return target, lla, nil
}
