package vip

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
)

var testMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30}

func TestGratuitousARPForms(t *testing.T) {
	ip := netip.MustParseAddr("198.18.0.50")
	forms := gratuitousARP(testMAC, ip)
	if len(forms) != 2 {
		t.Fatalf("%d forms", len(forms))
	}
	for i, want := range []struct {
		op  uint16
		tha net.HardwareAddr
	}{{arpRequest, zeroMAC}, {arpReply, testMAC}} {
		b := forms[i]
		if len(b) != 28 || binary.BigEndian.Uint16(b[6:]) != want.op {
			t.Fatalf("form %d: len %d op %d", i, len(b), binary.BigEndian.Uint16(b[6:]))
		}
		if !bytes.Equal(b[8:14], testMAC) || !bytes.Equal(b[18:24], want.tha) {
			t.Errorf("form %d: sha %x tha %x", i, b[8:14], b[18:24])
		}
		if !bytes.Equal(b[14:18], []byte{198, 18, 0, 50}) || !bytes.Equal(b[24:28], []byte{198, 18, 0, 50}) {
			t.Errorf("form %d: spa %v tpa %v, want the VIP in both (gratuitous)", i, b[14:18], b[24:28])
		}
	}
	if mac, ok := parseARPReply(forms[1], ip); !ok || !bytes.Equal(mac, testMAC) {
		t.Errorf("parseARPReply(reply form) = %v, %v", mac, ok)
	}
	if _, ok := parseARPReply(forms[0], ip); ok {
		t.Error("a request parsed as a reply")
	}
	if _, ok := parseARPReply(forms[1], netip.MustParseAddr("198.18.0.51")); ok {
		t.Error("reply for another address accepted")
	}
	probe := arpProbe(testMAC, ip)
	if !bytes.Equal(probe[14:18], []byte{0, 0, 0, 0}) || !bytes.Equal(probe[24:28], []byte{198, 18, 0, 50}) {
		t.Errorf("probe spa %v tpa %v", probe[14:18], probe[24:28])
	}
}

func TestNeighbourDiscoveryPackets(t *testing.T) {
	ip := netip.MustParseAddr("2001:db8:18::50")
	na := unsolicitedNA(testMAC, ip)
	if na[7] != 255 || na[6] != 58 || netip.AddrFrom16([16]byte(na[24:40])) != allNodes {
		t.Fatalf("NA header: hop %d next %d dst %v", na[7], na[6], netip.AddrFrom16([16]byte(na[24:40])))
	}
	if na[44]&0x20 == 0 || na[44]&0xc0 != 0 {
		t.Errorf("NA flags %#x: want override only", na[44])
	}
	// A correct checksum sums (with the pseudo-header) to all ones.
	if got := icmpv6Checksum([16]byte(na[8:24]), [16]byte(na[24:40]), na[40:]); got != 0 {
		t.Errorf("NA checksum does not verify (residue %#x)", got)
	}
	target, lla, err := parseNA(na)
	if err != nil || target != ip || !bytes.Equal(lla, testMAC) {
		t.Errorf("parseNA = %v %v %v", target, lla, err)
	}
	ns := dadProbe(ip)
	if src := netip.AddrFrom16([16]byte(ns[8:24])); !src.IsUnspecified() {
		t.Errorf("DAD probe source %v, want ::", src)
	}
	if dst := netip.AddrFrom16([16]byte(ns[24:40])); dst != netip.MustParseAddr("ff02::1:ff00:50") {
		t.Errorf("DAD probe to %v", dst)
	}
	if ns[40] != icmpv6NS || icmpv6Checksum([16]byte(ns[8:24]), [16]byte(ns[24:40]), ns[40:]) != 0 {
		t.Errorf("DAD probe type %d or checksum wrong", ns[40])
	}
	if _, _, err := parseNA(ns); err == nil {
		t.Error("a solicitation parsed as an advertisement")
	}
	if got := multicastMAC(solicitedNode(ip)).String(); got != "33:33:ff:00:00:50" {
		t.Errorf("solicited-node MAC %s", got)
	}
}
