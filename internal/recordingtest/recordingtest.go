// Package recordingtest reads the PBX's call recordings back for tests:
// the stereo 16-bit 8 kHz WAV files pbx/media's Recorder writes (left: what
// the caller sent, right: what the callee sent), checked to be whole, and
// how much of a stretch of them carries sound.
package recordingtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// Frame is one stereo sample: [0] the caller's channel, [1] the callee's.
type Frame = [2]int16

// Parse returns the frames of a recording, and an error unless it is a WAV
// file in the recorder's format whose header counts exactly the whole
// frames it holds (what a recording closed properly, or reopened after a
// crash and closed, looks like).
func Parse(b []byte) ([]Frame, error) {
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		return nil, errors.New("not a WAV file")
	}
	if ch, rate, bits := binary.LittleEndian.Uint16(b[22:]), binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint16(b[34:]); ch != 2 || rate != 8000 || bits != 16 {
		return nil, fmt.Errorf("%d channels, %d Hz, %d bits: want 2, 8000, 16", ch, rate, bits)
	}
	if size := binary.LittleEndian.Uint32(b[40:]); int(size) != len(b)-44 || (len(b)-44)%4 != 0 ||
		binary.LittleEndian.Uint32(b[4:]) != 36+size {
		return nil, fmt.Errorf("header counts %d data bytes (RIFF size %d), the file holds %d",
			size, binary.LittleEndian.Uint32(b[4:]), len(b)-44)
	}
	frames := make([]Frame, (len(b)-44)/4)
	for i := range frames {
		frames[i][0] = int16(binary.LittleEndian.Uint16(b[44+4*i:]))
		frames[i][1] = int16(binary.LittleEndian.Uint16(b[46+4*i:]))
	}
	return frames, nil
}

// Read returns the frames of the recording at path, failing t unless it is
// whole (Parse).
func Read(t testing.TB, path string) []Frame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		var frames []Frame
		if frames, err = Parse(b); err == nil {
			return frames
		}
	}
	t.Fatalf("recording %s: %v", path, err)
	return nil
}

// At is the frame index of the moment d after the recording's origin.
func At(d time.Duration) int { return int(d * 8000 / time.Second) }

// Length is how long frames last.
func Length(frames []Frame) time.Duration { return time.Duration(len(frames)) * time.Second / 8000 }

// Audible is the fraction of the 20 ms blocks of channel ch within frames
// [from, to) that carry sound (the recorder writes exact zeros for
// silence: hold, loss, a restart); 0 when the stretch is empty.
func Audible(frames []Frame, ch, from, to int) float64 {
	from, to = max(from, 0), min(to, len(frames))
	var blocks, loud int
	for i := from; i+160 <= to; i += 160 {
		blocks++
		for _, f := range frames[i : i+160] {
			if f[ch] != 0 {
				loud++
				break
			}
		}
	}
	if blocks == 0 {
		return 0
	}
	return float64(loud) / float64(blocks)
}
