package drbdctl

import (
	"bytes"
	"fmt"
)

// Format names an input format understood by Parse.
type Format string

// Input formats.
const (
	FormatJSON    Format = "json"    // drbdsetup status --json (DRBD 9)
	FormatEvents2 Format = "events2" // drbdsetup events2 [--now] [--statistics]
	FormatProc    Format = "proc"    // /proc/drbd
	FormatStatus  Format = "status"  // drbdadm status, drbdsetup status [--verbose] [--statistics]
)

// DetectFormat tells which format b is in: a JSON array, /proc/drbd (starts
// with "version:"), status text (first line "NAME role:..." or "NAME
// node-id:...") or else events2 lines.
func DetectFormat(b []byte) Format {
	t := bytes.TrimSpace(b)
	switch {
	case bytes.HasPrefix(t, []byte("[")):
		return FormatJSON
	case bytes.HasPrefix(t, []byte("version:")):
		return FormatProc
	}
	first, _, _ := bytes.Cut(t, []byte("\n"))
	if f := bytes.Fields(first); len(f) > 1 && (bytes.HasPrefix(f[1], []byte("role:")) || bytes.HasPrefix(f[1], []byte("node-id:"))) {
		return FormatStatus
	}
	return FormatEvents2
}

// Parse parses b in the given format, or in the detected one when f is "".
func Parse(b []byte, f Format) (Status, error) {
	if f == "" {
		f = DetectFormat(b)
	}
	switch f {
	case FormatJSON:
		return ParseStatusJSON(b)
	case FormatEvents2:
		return ParseEvents2(b)
	case FormatProc:
		return ParseProcDRBD(b)
	case FormatStatus:
		return ParseStatusText(b)
	}
	return Status{}, fmt.Errorf("unknown input format %q (want json, events2, proc or status)", f)
}
