package sipd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// startRecording records the call from its answer on, when the caller's or
// the callee's extension asks for it. The name goes into the journaled
// record (and so into the 200 OK's journal write), which is how a restored
// call reopens the same file and appends. A recording that cannot start
// does not cost the call: it goes on unrecorded, and the log says why.
// Callers hold mu.
func (c *Call) startRecording() {
	name := recordingName(c.rec)
	if err := c.relay.Record(name, c.rec.Answer); err != nil {
		c.srv.log.Error("recording: not recorded", "call", c.rec.ID, "err", err)
		return
	}
	c.rec.Recorded = name
}

// recordingName is where a call's recording goes, relative to the data
// directory: one directory a day, files named by answer time, caller and
// callee, and a digest of the Call-ID that keeps them unique.
func recordingName(rec CallRecord) string {
	at := rec.Answer.UTC()
	sum := sha256.Sum256([]byte(rec.ID))
	return fmt.Sprintf("recordings/%s/%s_%s_%s_%s.wav", at.Format("2006-01-02"), at.Format("150405.000"),
		rec.Caller, rec.Callee, hex.EncodeToString(sum[:4]))
}
