package drbdctl

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Client performs actions on DRBD resources through drbdadm and drbdsetup.
// The zero value runs the real tools with default retries.
type Client struct {
	Runner Runner // nil: Exec
	// Attempts bounds primary/secondary tries on transient refusals (a
	// peer still demoting, a short-lived opener such as udev's blkid);
	// 0 means 5.
	Attempts int
	// RetryDelay is the pause between tries; 0 means 1s.
	RetryDelay time.Duration
	// PollInterval is the status poll period of WaitConnect and WaitSync;
	// 0 means 500ms.
	PollInterval time.Duration
	// Holders names what holds a device open when DRBD refuses to release
	// it; nil: HolderScan{} (procfs and sysfs).
	Holders func(dev string) ([]Holder, error)
}

func (c *Client) runner() Runner {
	if c.Runner == nil {
		return Exec{}
	}
	return c.Runner
}

// run runs a tool and turns a failure into a typed error when it can.
func (c *Client) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := c.runner().Run(ctx, name, args...)
	if err == nil {
		return out, nil
	}
	if errors.Is(err, exec.ErrNotFound) {
		// Without drbd-utils nothing can be configured: probes and stops
		// on nodes without DRBD (a quorum-only node) must see "not up".
		return out, fmt.Errorf("%s not installed: %w", name, ErrNotConfigured)
	}
	var ce *CmdError
	if errors.As(err, &ce) {
		if kind := ClassifyFailure(ce.Stderr); kind != nil {
			return out, fmt.Errorf("%s: %w", ce.Cmd, kind)
		}
	}
	return out, err
}

// StatusAll reads the state of every resource (`drbdsetup events2 --now
// --statistics all`). Without the DRBD module it returns ErrNotConfigured.
func (c *Client) StatusAll(ctx context.Context) (Status, error) {
	out, err := c.run(ctx, "drbdsetup", "events2", "--now", "--statistics", "all")
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	st, err := ParseEvents2(out)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	return st, nil
}

// Follow runs `drbdsetup events2 --timestamps RES` ("all" for every
// resource) and calls emit for each change (see Watch) until ctx ends.
func (c *Client) Follow(ctx context.Context, res string, emit func(Change)) error {
	rc, err := c.runner().Stream(ctx, "drbdsetup", "events2", "--timestamps", res)
	if err != nil {
		return fmt.Errorf("watch %s: %w", res, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer stop()
	defer rc.Close()
	if _, err := Watch(rc, emit); err != nil && ctx.Err() == nil {
		return fmt.Errorf("watch %s: %w", res, err)
	}
	return nil
}

// Status reads one resource's state with `drbdsetup events2 --now
// --statistics RES` (DRBD 9, and 8.4 through drbdsetup-84). It returns
// ErrNotConfigured when the resource is not up.
func (c *Client) Status(ctx context.Context, res string) (Resource, error) {
	out, err := c.run(ctx, "drbdsetup", "events2", "--now", "--statistics", res)
	if err != nil {
		return Resource{}, fmt.Errorf("status %s: %w", res, err)
	}
	st, err := ParseEvents2(out)
	if err != nil {
		return Resource{}, fmt.Errorf("status %s: %w", res, err)
	}
	r, ok := st.Resource(res)
	if !ok {
		return Resource{}, fmt.Errorf("status %s: %w", res, ErrNotConfigured)
	}
	return *r, nil
}

// Up brings res up (attach, connect) unless it is up already.
func (c *Client) Up(ctx context.Context, res string) error {
	if _, err := c.Status(ctx, res); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotConfigured) {
		return fmt.Errorf("up %s: %w", res, err)
	}
	if _, err := c.run(ctx, "drbdadm", "up", res); err != nil {
		return fmt.Errorf("up %s: %w", res, err)
	}
	return nil
}

// Down takes res down; a resource that is not up is fine. When the device
// is held open the error names the holders.
func (c *Client) Down(ctx context.Context, res string) error {
	r, err := c.Status(ctx, res)
	if errors.Is(err, ErrNotConfigured) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("down %s: %w", res, err)
	}
	if _, err := c.run(ctx, "drbdadm", "down", res); err != nil {
		return fmt.Errorf("down %s: %w", res, c.explainHeld(r, err))
	}
	return nil
}

// Primary promotes res, never with --force. A peer that is still Primary
// (it may be demoting), a pending fence-peer handler or missing quorum are
// retried a bounded number of times; the last refusal is returned typed
// (ErrMultiplePrimaries, ErrPeerNotOutdated, ErrNoQuorum, ErrNoUpToDateData).
func (c *Client) Primary(ctx context.Context, res string) error {
	err := c.retry(ctx, func() error {
		_, err := c.run(ctx, "drbdadm", "primary", res)
		return err
	}, ErrMultiplePrimaries, ErrPeerNotOutdated, ErrNoQuorum)
	if err != nil {
		return fmt.Errorf("promote %s: %w", res, err)
	}
	return nil
}

// Secondary demotes res. A short-lived opener is retried; if the device
// stays held the error names the holders.
func (c *Client) Secondary(ctx context.Context, res string) error {
	err := c.retry(ctx, func() error {
		_, err := c.run(ctx, "drbdadm", "secondary", res)
		return err
	}, ErrHeldOpen)
	if err == nil {
		return nil
	}
	if r, serr := c.Status(ctx, res); serr == nil {
		err = c.explainHeld(r, err)
	}
	return fmt.Errorf("demote %s: %w", res, err)
}

// retry runs f until it succeeds, fails with an error not in transient, the
// attempts are used up or ctx ends.
func (c *Client) retry(ctx context.Context, f func() error, transient ...error) error {
	attempts, delay := c.Attempts, c.RetryDelay
	if attempts <= 0 {
		attempts = 5
	}
	if delay <= 0 {
		delay = time.Second
	}
	var err error
	for i := 1; ; i++ {
		if err = f(); err == nil {
			return nil
		}
		if i == attempts || !isAny(err, transient) {
			if i > 1 {
				err = fmt.Errorf("after %d attempts: %w", i, err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(delay):
		}
	}
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// explainHeld adds the holders of r's devices to an ErrHeldOpen error.
func (c *Client) explainHeld(r Resource, err error) error {
	if !errors.Is(err, ErrHeldOpen) {
		return err
	}
	holders := c.Holders
	if holders == nil {
		holders = HolderScan{}.Holders
	}
	var parts []string
	for _, d := range r.Devices {
		dev := DevicePath(d.Minor)
		hs, herr := holders(dev)
		if herr != nil {
			parts = append(parts, herr.Error())
			continue
		}
		var names []string
		for _, h := range hs {
			names = append(names, h.String())
		}
		if len(names) > 0 {
			parts = append(parts, fmt.Sprintf("%s is held by %s", dev, strings.Join(names, ", ")))
		}
	}
	if len(parts) == 0 {
		return err
	}
	return fmt.Errorf("%w: %s", err, strings.Join(parts, "; "))
}

// DevicePath is the device node of a DRBD minor.
func DevicePath(minor int) string { return fmt.Sprintf("/dev/drbd%d", minor) }

// ResolveSplitBrain reconnects res after a split brain. On the node whose
// changes are to be thrown away (discardMyData) it demotes, disconnects
// what is not StandAlone yet and reconnects with --discard-my-data, so it
// becomes SyncTarget; on the node whose data survives it reconnects
// StandAlone connections. The
// survivor's data then overwrites the victim's changes since the split.
func (c *Client) ResolveSplitBrain(ctx context.Context, res string, discardMyData bool) error {
	r, err := c.Status(ctx, res)
	if err != nil {
		return fmt.Errorf("resolve split brain of %s: %w", res, err)
	}
	if !discardMyData {
		if _, standAlone := r.SplitBrain(); len(standAlone) == 0 {
			return nil // already connecting or connected
		}
		if _, err := c.run(ctx, "drbdadm", "connect", res); err != nil {
			return fmt.Errorf("resolve split brain of %s: reconnect: %w", res, err)
		}
		return nil
	}
	if r.Role == Primary {
		if err := c.Secondary(ctx, res); err != nil {
			return fmt.Errorf("resolve split brain of %s: the node discarding its data must be Secondary: %w", res, err)
		}
	}
	// A StandAlone connection is disconnected already (DRBD 8.4 refuses to
	// disconnect it again); a connecting one must stop first.
	if slices.ContainsFunc(r.Connections, func(cn Connection) bool { return cn.State != StandAlone }) {
		if _, err := c.run(ctx, "drbdadm", "disconnect", res); err != nil {
			return fmt.Errorf("resolve split brain of %s: disconnect: %w", res, err)
		}
	}
	if _, err := c.run(ctx, "drbdadm", "connect", "--discard-my-data", res); err != nil {
		return fmt.Errorf("resolve split brain of %s: connect --discard-my-data: %w", res, err)
	}
	return nil
}
