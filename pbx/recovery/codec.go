package recovery

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"

	"pbxha/pbx/sipd"
)

// Record encoding: a version byte, then the fields of sipd.CallRecord and
// of both its Dialogs in declaration order (except the latches, added
// last in version 2); strings and byte slices as a
// uvarint length and their bytes, integers as uvarints, times and
// addresses in their MarshalBinary form (length-prefixed). Hand-written
// rather than JSON because it runs on the call-setup path (JSON was ~4 %
// of the PBX's CPU at 400 setups/s); TestCodecCoversEveryField fails when
// a field is added to CallRecord or Dialog and not here. Version 1 records
// (before latches were journaled), written by an older PBX before an
// upgrade, still decode, without latches.
const codecVersion = 2

var errShort = errors.New("record ends early")

func encode(rec *sipd.CallRecord) ([]byte, error) {
	size := 512 + len(rec.A.LocalSDP) + len(rec.A.RemoteSDP) + len(rec.B.LocalSDP) + len(rec.B.RemoteSDP)
	w := writer{b: make([]byte, 0, size)}
	w.b = append(w.b, codecVersion)
	w.str(rec.ID)
	w.str(rec.Caller)
	w.str(rec.Callee)
	w.uint(uint64(rec.State))
	w.dialog(&rec.A)
	w.dialog(&rec.B)
	w.marshal(rec.RelayA)
	w.marshal(rec.RelayB)
	w.marshal(rec.Start)
	w.marshal(rec.Answer)
	w.str(rec.Recorded)
	for _, p := range []*sipd.Peer{&rec.LatchA, &rec.LatchB} {
		w.marshal(p.RTP)
		w.marshal(p.RTCP)
	}
	return w.b, w.err
}

func decodeRecord(b []byte) (sipd.CallRecord, error) {
	var rec sipd.CallRecord
	if len(b) == 0 || b[0] < 1 || b[0] > codecVersion {
		return rec, fmt.Errorf("unknown record encoding")
	}
	version := b[0]
	r := reader{b: b[1:]}
	rec.ID = r.str()
	rec.Caller = r.str()
	rec.Callee = r.str()
	rec.State = sipd.State(r.uint())
	r.dialog(&rec.A)
	r.dialog(&rec.B)
	r.unmarshal(&rec.RelayA)
	r.unmarshal(&rec.RelayB)
	r.unmarshal(&rec.Start)
	r.unmarshal(&rec.Answer)
	rec.Recorded = r.str()
	if version >= 2 {
		for _, p := range []*sipd.Peer{&rec.LatchA, &rec.LatchB} {
			r.unmarshal(&p.RTP)
			r.unmarshal(&p.RTCP)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes after the record", len(r.b))
	}
	return rec, r.err
}

type writer struct {
	b   []byte
	err error
}

func (w *writer) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }

func (w *writer) str(s string) {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *writer) raw(p []byte) {
	w.uint(uint64(len(p)))
	w.b = append(w.b, p...)
}

// marshal appends m's binary form behind a one-byte length (times and
// addresses take under 128 bytes).
func (w *writer) marshal(m encoding.BinaryAppender) {
	at := len(w.b)
	b, err := m.AppendBinary(append(w.b, 0))
	if err == nil && len(b)-at-1 >= 0x80 {
		err = fmt.Errorf("%T: %d bytes", m, len(b)-at-1)
	}
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		b = b[:at+1]
	}
	b[at] = byte(len(b) - at - 1)
	w.b = b
}

func (w *writer) dialog(d *sipd.Dialog) {
	w.str(d.CallID)
	w.str(d.LocalTag)
	w.str(d.RemoteTag)
	w.str(d.LocalURI)
	w.str(d.RemoteURI)
	w.uint(uint64(d.LocalCSeq))
	w.uint(uint64(d.RemoteCSeq))
	w.str(d.RemoteTarget)
	w.uint(uint64(len(d.RouteSet)))
	for _, r := range d.RouteSet {
		w.str(r)
	}
	w.str(d.Transport)
	w.str(d.Peer)
	w.raw(d.LocalSDP)
	w.raw(d.RemoteSDP)
	w.uint(uint64(d.InviteCSeq))
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) str() string { return string(r.bytes()) }

// sdp is a description: nil when empty, as the PBX keeps "none".
func (r *reader) sdp() []byte {
	if p := r.bytes(); len(p) > 0 {
		return append([]byte(nil), p...)
	}
	return nil
}

func (r *reader) u32() uint32 {
	v := r.uint()
	if v > 1<<32-1 {
		r.fail()
	}
	return uint32(v)
}

func (r *reader) unmarshal(u encoding.BinaryUnmarshaler) {
	p := r.bytes()
	if r.err == nil {
		r.err = u.UnmarshalBinary(p)
	}
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShort
	}
	r.b = nil
}

func (r *reader) dialog(d *sipd.Dialog) {
	d.CallID = r.str()
	d.LocalTag = r.str()
	d.RemoteTag = r.str()
	d.LocalURI = r.str()
	d.RemoteURI = r.str()
	d.LocalCSeq = r.u32()
	d.RemoteCSeq = r.u32()
	d.RemoteTarget = r.str()
	switch n := r.uint(); {
	case n > uint64(len(r.b)): // each route takes at least a byte
		r.fail()
	case n > 0:
		d.RouteSet = make([]string, n)
		for i := range d.RouteSet {
			d.RouteSet[i] = r.str()
		}
	}
	d.Transport = r.str()
	d.Peer = r.str()
	d.LocalSDP = r.sdp()
	d.RemoteSDP = r.sdp()
	d.InviteCSeq = r.u32()
}
