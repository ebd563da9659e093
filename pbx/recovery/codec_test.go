package recovery

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"pbxha/pbx/sipd"
)

// fill sets every field of the struct v points to a distinct non-zero
// value, recursively; it fails on a field type it does not know, so a new
// kind of field in CallRecord or Dialog is noticed here first.
func fill(t *testing.T, v reflect.Value, n *int) {
	t.Helper()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		*n++
		switch x := f.Addr().Interface().(type) {
		case *string:
			*x = name + "-" + string(rune('a'+*n%26))
		case *uint32:
			*x = uint32(1000 + *n)
		case *sipd.State:
			*x = sipd.Confirmed
		case *[]string:
			*x = []string{name + "-1", name + "-2"}
		case *[]byte:
			*x = []byte("v=0\r\n" + name)
		case *netip.AddrPort:
			*x = netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), uint16(20000+*n))
		case *time.Time:
			*x = time.Date(2026, 11, 23, 15, *n, 7, 123456789, time.UTC)
		case *sipd.Dialog, *sipd.Peer:
			fill(t, f, n)
		default:
			t.Fatalf("field %s of type %s: teach codec.go (and this test) to encode it", name, f.Type())
		}
	}
}

// filled is a record with every field set, and its encoding.
func filled(t *testing.T) (sipd.CallRecord, []byte) {
	t.Helper()
	var rec sipd.CallRecord
	n := 0
	fill(t, reflect.ValueOf(&rec).Elem(), &n)
	b, err := encode(&rec)
	if err != nil {
		t.Fatal(err)
	}
	return rec, b
}

// TestCodecCoversEveryField: a record with every field set survives the
// round trip, so a field added to CallRecord or Dialog cannot be silently
// left out of the journal.
func TestCodecCoversEveryField(t *testing.T) {
	rec, b := filled(t)
	got, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, rec)
	}
}

// TestDecodeVersion1: a record an older PBX wrote (before latches were
// journaled) still decodes after an upgrade, without latches.
func TestDecodeVersion1(t *testing.T) {
	rec, b := filled(t)
	// Version 1 is version 2 without the four latch addresses at the end.
	tail := 0
	for _, ap := range []netip.AddrPort{rec.LatchA.RTP, rec.LatchA.RTCP, rec.LatchB.RTP, rec.LatchB.RTCP} {
		m, _ := ap.MarshalBinary()
		tail += 1 + len(m)
	}
	v1 := append([]byte{1}, b[1:len(b)-tail]...)
	got, err := decodeRecord(v1)
	if err != nil {
		t.Fatal(err)
	}
	rec.LatchA, rec.LatchB = sipd.Peer{}, sipd.Peer{}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("version 1 record\n got %+v\nwant %+v", got, rec)
	}
}

// TestDecodeRejects: truncated or foreign bytes are errors, never panics
// or partial records taken as good.
func TestDecodeRejects(t *testing.T) {
	good, err := encode(&sipd.CallRecord{ID: "x", A: sipd.Dialog{RouteSet: []string{"sip:p;lr"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"json", []byte(`{"ID":"x"}`)},
		{"truncated", good[:len(good)/2]},
		{"trailing bytes", append(append([]byte(nil), good...), 0)},
		{"huge length", []byte{codecVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeRecord(tc.b); err == nil {
				t.Fatal("decoded")
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	rec := call("bench@127.0.0.1", sipd.Confirmed)
	rec.A.LocalSDP = make([]byte, 300)
	rec.A.RemoteSDP, rec.B.LocalSDP, rec.B.RemoteSDP = rec.A.LocalSDP, rec.A.LocalSDP, rec.A.LocalSDP
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(&rec); err != nil {
			b.Fatal(err)
		}
	}
}
