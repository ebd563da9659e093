// Package sipptest holds what the tests driving real sipp clients share:
// reading sipp's final statistics, the digest injection field its
// scenarios take, a data directory provisioned with extensions, and audio
// for play_pcap_audio that lasts as long as a call needs.
package sipptest

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"pbxha/pbx/auth"
	"pbxha/pbx/store"
)

var count = regexp.MustCompile(`(Successful|Failed) call\s*\|\s*\d+\s*\|\s*(\d+)`)

// Counts reads the cumulative successful and failed calls from sipp's
// final statistics screen (the last one printed wins).
func Counts(out string) (ok, failed int) {
	for _, m := range count.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "Successful" {
			ok = n
		} else {
			failed = n
		}
	}
	return ok, failed
}

// AuthField is the injection-file field sipp's [authentication] keyword
// takes for extension ext with the password Provision gives it.
func AuthField(ext string) string {
	return fmt.Sprintf("[authentication username=%s password=pw%s]", ext, ext)
}

// Provision initialises a data directory for realm with extensions exts
// (password pw<ext>) and returns the open store (closed when the test ends)
// and a pbx settings file that challenges MD5 first: sipp answers only the
// first challenge and knows only MD5.
func Provision(t testing.TB, realm string, exts ...string) (data string, st *store.Store, config string) {
	t.Helper()
	data = t.TempDir()
	if err := store.Init(data, realm); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, e := range exts {
		u := store.User{Ext: e, HA1MD5: auth.HA1(auth.MD5, e, realm, "pw"+e), HA1SHA256: auth.HA1(auth.SHA256, e, realm, "pw"+e)}
		if err := st.AddUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	config = filepath.Join(t.TempDir(), "pbx.json")
	if err := os.WriteFile(config, []byte(`{"digest_algorithms": ["MD5", "SHA-256"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return data, st, config
}

// WriteTonePCAP writes a pcap of d of G.711 A-law RTP (20 ms packets), for
// sipp's play_pcap_audio, which sends the UDP payloads with the capture's
// timing to the address in the PBX's SDP. (The pcap sipp ships lasts 7 s:
// too short for a call that outlives a restart.) Every packet carries
// sound, so a recording of it is audible throughout.
func WriteTonePCAP(t *testing.T, path string, d time.Duration) {
	t.Helper()
	const payload = 160
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...) // thiszone, sigfigs
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1) // Ethernet
	n := int(d / (20 * time.Millisecond))
	for i := range n {
		ts := time.Duration(i) * 20 * time.Millisecond
		frame := rtpFrame(uint16(i), uint32(i*payload), payload)
		b = binary.LittleEndian.AppendUint32(b, uint32(ts/time.Second))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts%time.Second/time.Microsecond))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
		b = append(b, frame...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rtpFrame is an Ethernet/IPv4/UDP frame carrying one PCMA RTP packet of
// a 1 kHz-ish tone.
func rtpFrame(seq uint16, ts uint32, payload int) []byte {
	rtp := []byte{0x80, 8, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78}
	binary.BigEndian.PutUint16(rtp[2:], seq)
	binary.BigEndian.PutUint32(rtp[4:], ts)
	for i := range payload {
		rtp = append(rtp, []byte{0x34, 0xb4, 0x34, 0xb4, 0x55, 0xd5, 0x55, 0xd5}[i%8])
	}
	udp := binary.BigEndian.AppendUint16(nil, 4000)
	udp = binary.BigEndian.AppendUint16(udp, 4000)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(rtp)))
	udp = append(udp, 0, 0) // no checksum
	udp = append(udp, rtp...)
	ip := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	eth := []byte{0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00}
	return append(append(eth, ip...), udp...)
}
