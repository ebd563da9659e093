package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Recording format: 16-bit PCM WAV, 8 kHz, two channels (left: what leg A
// sent, right: what leg B sent), with the canonical 44-byte header.
const (
	sampleRate  = 8000
	frameBytes  = 4 // 2 channels x 16 bit
	headerBytes = 44
	// recLatency is how far behind the wall clock the recorder writes, so
	// that both directions' packets for a moment are in before it goes out.
	recLatency = sampleRate / 5 // 200 ms
	// recSlack is how far a direction may fall behind the clock before its
	// next packet is placed at the clock (silence, hold or loss before it).
	recSlack = sampleRate / 10 // 100 ms
	// recAhead is how far ahead of the clock a direction may run (jitter
	// bursts) before its packets are dropped.
	recAhead = sampleRate / 2 // 500 ms
	// recWindow is the in-memory window; audio later than that is cut.
	recWindow = 4 * sampleRate
)

// Recorder writes both directions of a G.711 call (PCMU or PCMA, chosen
// per packet by payload type 0 or 8; other payloads are ignored) to a
// stereo WAV file, aligned on the wall clock from the recording's start:
// gaps (hold, silence suppression, a PBX restart) become silence, so the
// file's timeline matches the call's. OpenRecorder on an existing file
// appends, which is how a recovered call keeps one recording.
type Recorder struct {
	mu     sync.Mutex
	f      *os.File
	start  time.Time
	frames int64 // frames on disk
	// win holds frames [frames, frames+len(win)) not yet on disk.
	win  [][2]int16
	next [2]int64 // frame where each side's next sample goes
	out  []byte   // encode buffer, reused
	err  error    // first write error; the recorder stops writing after one
	now  func() time.Time
}

// OpenRecorder creates path, or reopens it to append when it already holds
// a recording in this format (a torn last frame is cut). start is the
// recording's wall-clock origin: time.Now() for a new call, the journaled
// start for a recovered one.
func OpenRecorder(path string, start time.Time) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("media: recorder: %w", err)
	}
	r := &Recorder{f: f, start: start, out: make([]byte, 0, recWindow*frameBytes), now: time.Now}
	if err := r.open(); err != nil {
		f.Close()
		return nil, fmt.Errorf("media: recorder %s: %w", path, err)
	}
	r.next = [2]int64{r.frames, r.frames}
	return r, nil
}

// open validates an existing header or writes a new one, and positions
// the file at the end of its last whole frame.
func (r *Recorder) open() error {
	fi, err := r.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		_, err := r.f.Write(wavHeader(0))
		return err
	}
	var h [headerBytes]byte
	if _, err := io.ReadFull(r.f, h[:]); err != nil {
		return fmt.Errorf("existing file is not a recording: %w", err)
	}
	want := wavHeader(0)
	// Compare everything except the two size fields.
	if !bytes.Equal(h[:4], want[:4]) || !bytes.Equal(h[8:40], want[8:40]) {
		return errors.New("existing file is not an 8 kHz 16-bit stereo PCM WAV written by this recorder")
	}
	r.frames = (fi.Size() - headerBytes) / frameBytes
	if err := r.f.Truncate(headerBytes + r.frames*frameBytes); err != nil {
		return err
	}
	_, err = r.f.Seek(0, io.SeekEnd)
	return err
}

func wavHeader(frames int64) []byte {
	data := uint32(frames * frameBytes)
	h := make([]byte, 0, headerBytes)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, 36+data)
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, 2)
	h = binary.LittleEndian.AppendUint32(h, sampleRate)
	h = binary.LittleEndian.AppendUint32(h, sampleRate*frameBytes)
	h = binary.LittleEndian.AppendUint16(h, frameBytes)
	h = binary.LittleEndian.AppendUint16(h, 16)
	h = append(h, "data"...)
	return binary.LittleEndian.AppendUint32(h, data)
}

// Start is the recording's wall-clock origin, to journal for recovery.
func (r *Recorder) Start() time.Time { return r.start }

// Frames is the number of stereo frames on disk.
func (r *Recorder) Frames() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames
}

// clock returns the frame index of t.
func (r *Recorder) clock(t time.Time) int64 {
	return int64(t.Sub(r.start) * sampleRate / time.Second)
}

// WriteRTP records the payload of one RTP packet sent by leg s.
func (r *Recorder) WriteRTP(s Side, pkt []byte) {
	payload, pt, ok := rtpPayload(pkt)
	if !ok {
		return
	}
	var table *[256]int16
	switch pt {
	case 0:
		table = &ulawTable
	case 8:
		table = &alawTable
	default:
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	now := r.clock(r.now())
	pos := r.next[s]
	switch {
	case pos < now-recSlack:
		pos = now // resume at the clock after a gap
	case pos > now+recAhead:
		return // faster than real time: a flood, not a phone
	}
	// Samples that fall before what is on disk are too late: cut them.
	if skip := r.frames - pos; skip > 0 {
		if skip >= int64(len(payload)) {
			r.next[s] = pos + int64(len(payload))
			return
		}
		payload, pos = payload[skip:], r.frames
	}
	end := pos + int64(len(payload))
	if end-r.frames > recWindow {
		r.flush(end - recWindow)
	}
	for int64(len(r.win)) < end-r.frames {
		r.win = append(r.win, [2]int16{})
	}
	w := r.win[pos-r.frames:]
	for i, b := range payload {
		w[i][s] = table[b]
	}
	r.next[s] = end
	if now-recLatency-r.frames >= recLatency {
		r.flush(now - recLatency)
	}
}

// flush writes frames up to (excluding) upTo to disk, with silence for
// frames the window does not hold, and updates the header's sizes.
func (r *Recorder) flush(upTo int64) {
	for r.frames < upTo && r.err == nil {
		n := min(upTo-r.frames, recWindow)
		out := r.out[:0]
		for i := range n {
			var fr [2]int16
			if i < int64(len(r.win)) {
				fr = r.win[i]
			}
			out = binary.LittleEndian.AppendUint16(out, uint16(fr[0]))
			out = binary.LittleEndian.AppendUint16(out, uint16(fr[1]))
		}
		r.out = out
		if _, err := r.f.Write(out); err != nil {
			r.err = err
			return
		}
		r.frames += n
		k := copy(r.win, r.win[min(n, int64(len(r.win))):])
		r.win = r.win[:k]
	}
	h := wavHeader(r.frames)
	if _, err := r.f.WriteAt(h[4:8], 4); err != nil {
		r.err = err
	}
	if _, err := r.f.WriteAt(h[40:44], 40); err != nil {
		r.err = err
	}
}

// Close writes everything received, finalises the header and closes the
// file. It returns the first write error the recorder met, if any.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flush(r.frames + int64(len(r.win)))
	return errors.Join(r.err, r.f.Sync(), r.f.Close())
}

// rtpPayload returns the payload and payload type of an RTP packet,
// skipping CSRCs, the header extension and padding (RFC 3550 section 5.1).
func rtpPayload(pkt []byte) ([]byte, byte, bool) {
	if len(pkt) < 12 || pkt[0]>>6 != 2 {
		return nil, 0, false
	}
	off := 12 + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < off+4 {
			return nil, 0, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 && end > 0 {
		end -= int(pkt[end-1])
	}
	if off > end {
		return nil, 0, false
	}
	return pkt[off:end], pkt[1] & 0x7f, true
}
