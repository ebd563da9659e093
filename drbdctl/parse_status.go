package drbdctl

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// ParseStatusText parses the text of `drbdadm status` / `drbdsetup status
// [--verbose] [--statistics]` (DRBD 9, and 8.4 through drbdsetup-84), the
// most common capture in support bundles:
//
//	pbx role:Primary
//	  disk:UpToDate
//	  pbx-b role:Secondary
//	    peer-disk:UpToDate
//	  pbx-c connection:Connecting
//
// A resource starts at column 0, its volumes ("volume:N ..." or "disk:...")
// and its peers ("NAME key:value...") at column 2, a peer's volumes at
// column 4; a line indented 4 more than the previous object continues it.
// Without --verbose DRBD leaves out what is normal: a single volume's
// number (0), "connection:Connected", "replication:Established"; those are
// filled in. Each object becomes an events2 "exists" event, so the model is
// the one ParseEvents2 builds.
func ParseStatusText(b []byte) (Status, error) {
	var (
		st      Status
		cur     *Event // the object being read, applied when the next starts
		curCol  int
		res     string // current resource
		peer    string // current peer
		applyIt = func() error {
			if cur == nil {
				return nil
			}
			ev := *cur
			cur = nil
			return st.Apply(ev)
		}
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t")
		trimmed := strings.TrimLeft(line, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		col := len(line) - len(trimmed)
		tok := strings.Fields(trimmed)
		if cur != nil && col == curCol+4 {
			if err := addFields(cur, tok); err != nil {
				return Status{}, fmt.Errorf("status line %d: %w", n, err)
			}
			continue
		}
		if err := applyIt(); err != nil {
			return Status{}, fmt.Errorf("status line %d: %w", n, err)
		}
		ev := &Event{Kind: "exists", Fields: map[string]string{}}
		switch {
		case col == 0:
			res, peer = tok[0], ""
			ev.Object, tok = "resource", tok[1:]
		case res == "":
			return Status{}, fmt.Errorf("status line %d: %q before any resource", n, trimmed)
		case col == 2 && !strings.Contains(tok[0], ":"):
			peer = tok[0]
			ev.Object, tok = "connection", tok[1:]
			ev.Fields["conn-name"], ev.Fields["connection"] = peer, string(Connected)
		case col == 2:
			ev.Object = "device"
			ev.Fields["volume"] = "0"
		case col == 4 && peer != "":
			ev.Object = "peer-device"
			ev.Fields["conn-name"], ev.Fields["volume"], ev.Fields["replication"] = peer, "0", string(Established)
		default:
			return Status{}, fmt.Errorf("status line %d: unexpected indentation %d: %q", n, col, trimmed)
		}
		ev.Fields["name"] = res
		if err := addFields(ev, tok); err != nil {
			return Status{}, fmt.Errorf("status line %d: %w", n, err)
		}
		if ev.Object == "connection" {
			// "node-id:" on a peer line is the peer's (events2's peer-node-id).
			if id, ok := ev.Fields["node-id"]; ok {
				ev.Fields["peer-node-id"] = id
				delete(ev.Fields, "node-id")
			}
		}
		cur, curCol = ev, col
	}
	if err := sc.Err(); err != nil {
		return Status{}, fmt.Errorf("read status: %w", err)
	}
	if err := applyIt(); err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	return st, nil
}

// addFields adds key:value tokens to ev; of events2 --diff's "old->new"
// the new value is kept.
func addFields(ev *Event, tok []string) error {
	for _, kv := range tok {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return fmt.Errorf("field %q has no ':'", kv)
		}
		if i := strings.LastIndex(v, "->"); i >= 0 {
			v = v[i+2:]
		}
		ev.Fields[k] = v
	}
	return nil
}
