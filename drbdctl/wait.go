package drbdctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// WaitConnect polls res until every connection is Connected, calling
// onPoll (if not nil) with each state read. It fails with ErrStandAlone as
// soon as a connection is StandAlone, and with ctx's error when ctx ends.
func (c *Client) WaitConnect(ctx context.Context, res string, onPoll func(Resource)) (Resource, error) {
	r, err := c.poll(ctx, res, onPoll, func(r Resource) bool { return r.Connected() })
	if err != nil {
		return r, fmt.Errorf("wait-connect %s: %w", res, err)
	}
	return r, nil
}

// WaitSync polls res until it is connected, no resync runs and every local
// and peer volume is UpToDate, calling onPoll (if not nil) with each state
// read. It fails like WaitConnect.
func (c *Client) WaitSync(ctx context.Context, res string, onPoll func(Resource)) (Resource, error) {
	r, err := c.poll(ctx, res, onPoll, InSync)
	if err != nil {
		return r, fmt.Errorf("wait-sync %s: %w", res, err)
	}
	return r, nil
}

// InSync reports whether r is connected, not resyncing, and UpToDate on
// every local and peer volume.
func InSync(r Resource) bool {
	if !r.Connected() || len(r.Resyncs()) > 0 || r.LocalDisk() != UpToDate {
		return false
	}
	for _, c := range r.Connections {
		for _, p := range c.PeerDevices {
			if p.PeerDisk != UpToDate {
				return false
			}
		}
	}
	return true
}

func (c *Client) poll(ctx context.Context, res string, onPoll func(Resource), done func(Resource) bool) (Resource, error) {
	interval := c.PollInterval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	for {
		r, err := c.Status(ctx, res)
		if err != nil && !errors.Is(err, ErrNotConfigured) {
			return r, err
		}
		if err == nil {
			if onPoll != nil {
				onPoll(r)
			}
			if done(r) {
				return r, nil
			}
			if _, sa := r.SplitBrain(); len(sa) > 0 {
				return r, fmt.Errorf("%w: %s (see `drbdctl resolve-split-brain --help`)", ErrStandAlone, strings.Join(sa, ", "))
			}
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("%s: %w", describeWait(r, err), ctx.Err())
		case <-time.After(interval):
		}
	}
}

// describeWait says what the last poll saw, for a timeout message.
func describeWait(r Resource, err error) string {
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, c := range r.Connections {
		parts = append(parts, fmt.Sprintf("%s %s", c.Name, c.State))
	}
	for _, rs := range r.Resyncs() {
		parts = append(parts, fmt.Sprintf("%s vol%d %s %.1f%%", rs.Connection, rs.Volume, rs.Replication, rs.Progress.PercentDone))
	}
	return fmt.Sprintf("last seen: disk %s; %s", r.LocalDisk(), strings.Join(parts, "; "))
}
