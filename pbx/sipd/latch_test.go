package sipd

import (
	"net/netip"
	"testing"
	"time"
)

// TestLatchesJournaled: when the relay latches onto a phone's real source
// (a NAT's public side), the call journals the latch; a latch callback
// that changes nothing writes nothing; and a restored call's relay gets
// its journaled latches back.
func TestLatchesJournaled(t *testing.T) {
	media := &fakeMedia{}
	p := startPBX(t, func(c *Config) { c.Media = media })
	connected(t, p)
	eventually(t, "call confirmed", func() bool {
		cs := p.srv.Calls()
		return len(cs) == 1 && cs[0].State == Confirmed
	})
	records := func() []CallRecord {
		p.obs.mu.Lock()
		defer p.obs.mu.Unlock()
		return append([]CallRecord(nil), p.obs.recs...)
	}
	nat := Peer{RTP: netip.MustParseAddrPort("127.0.0.7:30000"), RTCP: netip.MustParseAddrPort("127.0.0.7:30001")}
	media.mu.Lock()
	relay, latched := media.last, media.latched
	media.mu.Unlock()
	before := len(records())
	latched() // nothing changed
	time.Sleep(3 * latchDelay)
	if n := len(records()) - before; n != 0 {
		t.Fatalf("%d journal writes for a latch callback that changed nothing", n)
	}
	relay.Latch(Caller, nat)
	latched()
	latched() // gathered into the same write
	eventually(t, "the latch journaled", func() bool {
		rs := records()
		return len(rs) > before && rs[len(rs)-1].LatchA == nat
	})
	if n := len(records()) - before; n != 1 {
		t.Fatalf("%d journal writes for one latch, want 1", n)
	}

	// Restore puts the latches back on the new relay.
	rm := &restoringMedia{}
	restored(t, rm, RestoreOptions{}, func(r *CallRecord) { r.LatchB = nat })
	rm.mu.Lock()
	got := rm.last.latches
	rm.mu.Unlock()
	if got != [2]Peer{{}, nat} {
		t.Fatalf("restored relay's latches %v, want the callee's %v", got, nat)
	}
}
