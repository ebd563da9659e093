package sipd

import (
	"context"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"pbxha/pbx/store"
)

// State is where a call is in its life.
type State int

// Call states. A call only moves forward: Trying → Early → Answered →
// Confirmed → Ended; a call may end from any state.
const (
	Trying    State = iota // INVITE accepted, callee legs being tried
	Early                  // a callee is ringing (180/183 relayed)
	Answered               // 200 OK sent to the caller, its ACK awaited
	Confirmed              // both legs established
	Ended
)

func (s State) String() string {
	return [...]string{"trying", "early", "answered", "confirmed", "ended"}[s]
}

// CallRecord is a snapshot of what recovering a call needs: both legs'
// dialogs and the relay's addresses. Observers get one on every change.
type CallRecord struct {
	ID       string // the caller leg's Call-ID
	Caller   string
	Callee   string
	State    State
	A, B     Dialog
	RelayA   netip.AddrPort // relay RTP address the caller sends to
	RelayB   netip.AddrPort // relay RTP address the callee sends to
	LatchA   Peer           // where the relay latched the caller's audio to (zero until latched)
	LatchB   Peer           // where the relay latched the callee's audio to
	Start    time.Time
	Answer   time.Time
	Recorded string // recording file, when recording
}

// CallObserver is the seam for a dialog journal: Changed is called with the
// new state of a call before the message that commits the change leaves
// (the 200 OK to the caller, an ACK, a re-INVITE's answer), and must return
// only once the state is durable; an error from it aborts that message.
// ChangedLater is for changes no message depends on (the caller's ACK
// received, a media latch): durable soon, nobody waits. Ended is called
// once a call is over; nobody waits for it either.
type CallObserver interface {
	Changed(CallRecord) error
	ChangedLater(CallRecord)
	Ended(id string)
}

type nopObserver struct{}

func (nopObserver) Changed(CallRecord) error { return nil }
func (nopObserver) ChangedLater(CallRecord)  {}
func (nopObserver) Ended(string)             {}

// Call is one bridged call: two dialogs and a relay. All fields are guarded
// by mu; transitions go through the methods below only.
type Call struct {
	mu       sync.Mutex
	srv      *Server
	rec      CallRecord
	relay    Relay
	acked    chan struct{} // closed when the caller ACKs the 2xx
	reoffer  bool          // a re-INVITE is in progress
	answered *branch       // the callee leg that answered
	firstLeg string        // Call-ID of the first callee leg tried
	recordIt bool          // record from the answer on (either party's setting)
	latching atomic.Bool   // a journal write of new latches is pending
}

// record returns a copy of the call's state.
func (c *Call) record() CallRecord {
	r := c.rec
	r.A.RouteSet = append([]string(nil), r.A.RouteSet...)
	r.B.RouteSet = append([]string(nil), r.B.RouteSet...)
	return r
}

// transition moves the call to st and tells the observer, returning once
// the state is durable. Callers hold mu.
func (c *Call) transition(st State) error {
	c.update(st)
	return c.srv.cfg.Observer.Changed(c.record())
}

// note is transition for changes nothing waits on (ChangedLater). Callers
// hold mu.
func (c *Call) note(st State) {
	c.update(st)
	c.srv.cfg.Observer.ChangedLater(c.record())
}

// update moves the call to st and takes in the relay's addresses. Callers
// hold mu.
func (c *Call) update(st State) {
	c.rec.State = st
	if c.relay != nil {
		c.rec.RelayA, c.rec.RelayB = c.relay.Local(Caller), c.relay.Local(Callee)
		c.rec.LatchA, c.rec.LatchB = c.relay.Latched(Caller), c.relay.Latched(Callee)
	}
}

// latchDelay gathers the latches a call makes at once (RTP and RTCP, both
// legs, as media starts) into one journal write.
const latchDelay = 50 * time.Millisecond

// latched is the relay's latch callback: it journals the call's new latches
// off the packet path, shortly after. Latches made before the answer go
// into the answer's record. Nothing waits for this write (note): a latch
// lost in a crash is made again by the phone's next packets. It never
// takes mu: the relay's forwarders call it, and Close waits for them with
// mu held (callTable.closeAll).
func (c *Call) latched() {
	if !c.latching.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(latchDelay, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.latching.Store(false)
		if c.rec.State < Answered || c.rec.State == Ended || c.relay == nil ||
			c.relay.Latched(Caller) == c.rec.LatchA && c.relay.Latched(Callee) == c.rec.LatchB {
			return
		}
		c.note(c.rec.State)
	})
}

// dialog returns side's dialog. Callers hold mu.
func (c *Call) dialog(side Side) *Dialog {
	if side == Caller {
		return &c.rec.A
	}
	return &c.rec.B
}

// finish ends the call once: releases the relay, forgets the dialogs and
// writes the CDR. status is the final SIP status the caller saw.
func (c *Call) finish(disposition string, status int, hangup string) {
	c.mu.Lock()
	if c.rec.State == Ended {
		c.mu.Unlock()
		return
	}
	c.rec.State = Ended
	rec := c.record()
	relay := c.relay
	bCallID := rec.B.CallID
	if bCallID == "" {
		bCallID = c.firstLeg
	}
	c.mu.Unlock()

	c.srv.calls.remove(c)
	if relay != nil {
		if err := relay.Close(); err != nil {
			c.srv.log.Warn("release relay", "call", rec.ID, "err", err)
		}
	}
	c.srv.cfg.Observer.Ended(rec.ID)
	cdr := store.CDR{
		Caller: rec.Caller, Callee: rec.Callee, ACallID: rec.ID, BCallID: bCallID,
		Start: rec.Start, Answer: rec.Answer, End: time.Now(),
		Disposition: disposition, SIPStatus: status, HangupSide: hangup, Recording: rec.Recorded,
	}
	if err := c.srv.cfg.Store.AddCDR(context.Background(), cdr); err != nil {
		c.srv.log.Error("write cdr", "call", rec.ID, "err", err)
	}
}

// callTable finds calls by the Call-ID of either leg.
type callTable struct {
	mu    sync.Mutex
	legs  map[string]leg
	calls map[*Call]struct{}
}

type leg struct {
	call *Call
	side Side
}

func newCallTable() *callTable {
	return &callTable{legs: map[string]leg{}, calls: map[*Call]struct{}{}}
}

func (t *callTable) add(callID string, c *Call, side Side) {
	t.mu.Lock()
	t.legs[callID] = leg{c, side}
	t.calls[c] = struct{}{}
	t.mu.Unlock()
}

func (t *callTable) drop(callID string) {
	t.mu.Lock()
	delete(t.legs, callID)
	t.mu.Unlock()
}

func (t *callTable) find(callID string) (leg, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.legs[callID]
	return l, ok
}

func (t *callTable) remove(c *Call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.calls, c)
	for id, l := range t.legs {
		if l.call == c {
			delete(t.legs, id)
		}
	}
}

func (t *callTable) list() []CallRecord {
	t.mu.Lock()
	cs := make([]*Call, 0, len(t.calls))
	for c := range t.calls {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	out := make([]CallRecord, 0, len(cs))
	for _, c := range cs {
		c.mu.Lock()
		out = append(out, c.record())
		c.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// closeAll releases every relay at shutdown. Calls are not hung up: the
// journal (issue 4) lets the next instance carry them on.
func (t *callTable) closeAll() {
	t.mu.Lock()
	cs := make([]*Call, 0, len(t.calls))
	for c := range t.calls {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	for _, c := range cs {
		c.mu.Lock()
		if c.relay != nil {
			c.relay.Close()
			c.relay = nil
		}
		c.mu.Unlock()
	}
}

// Calls lists the active calls.
func (s *Server) Calls() []CallRecord { return s.calls.list() }
