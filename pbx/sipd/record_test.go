package sipd

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/auth"
	"pbxha/pbx/store"
)

// TestRecording: a call is recorded from its answer when the caller's or
// the callee's extension says so. The recording's name is in the record
// the journal gets with the answer (before the 200 OK leaves), its origin
// is the answer time, and the CDR names it. Calls between extensions that
// are not recorded get no recording, and a recording that cannot start
// leaves the call up, unrecorded.
func TestRecording(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recorded string // the extension with recording on
		fail     error
		want     bool
	}{
		{"callee records", "200", nil, true},
		{"caller records", "100", nil, true},
		{"nobody records", "", nil, false},
		{"recording fails", "200", errors.New("disk full"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			media := &fakeMedia{failRecord: tc.fail}
			p := startPBX(t, func(c *Config) { c.Media = media })
			if tc.recorded != "" {
				ext := tc.recorded
				if err := p.store.AddUser(context.Background(), store.User{Ext: ext, Record: true,
					HA1MD5: auth.HA1(auth.MD5, ext, testRealm, "pw"+ext), HA1SHA256: auth.HA1(auth.SHA256, ext, testRealm, "pw"+ext)}); err != nil {
					t.Fatal(err)
				}
			}
			oc := connected(t, p)
			if res := oc.do(sip.BYE, nil); res.StatusCode != sip.StatusOK {
				t.Fatalf("BYE: %d", res.StatusCode)
			}
			cdr := lastCDR(t, p)

			p.obs.mu.Lock()
			var answered CallRecord
			for _, r := range p.obs.recs {
				if r.State == Answered {
					answered = r
				}
			}
			p.obs.mu.Unlock()
			media.mu.Lock()
			origin, started := media.recording[answered.Recorded]
			media.mu.Unlock()
			if !tc.want {
				if answered.Recorded != "" || cdr.Recording != "" || (tc.fail == nil && len(media.recording) != 0) {
					t.Fatalf("recorded %q (CDR %q), want no recording", answered.Recorded, cdr.Recording)
				}
				if cdr.Disposition != store.Answered {
					t.Fatalf("CDR %+v: the call should have gone on", cdr)
				}
				return
			}
			name := regexp.MustCompile(`^recordings/\d{4}-\d\d-\d\d/\d{6}\.\d{3}_100_200_[0-9a-f]{8}\.wav$`)
			if !name.MatchString(answered.Recorded) || !started || !origin.Equal(answered.Answer) {
				t.Fatalf("answered record names recording %q (started %v, origin %v, answer %v)",
					answered.Recorded, started, origin, answered.Answer)
			}
			if cdr.Recording != answered.Recorded || !cdr.Answer.Equal(answered.Answer.Truncate(time.Millisecond)) {
				t.Fatalf("CDR %+v, want recording %q", cdr, answered.Recorded)
			}
		})
	}
}
