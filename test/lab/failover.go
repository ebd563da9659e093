package lab

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Failover is one measured hard failure of the node running a resource.
type Failover struct {
	Resource  string
	From, To  string
	Recovery  time.Duration // kill -> first client reply after the outage
	StartExec time.Duration // the start operation's own run time on the new node (Pacemaker's exec-time)
}

// Probes for MeasureFailover: ICMP echo to the VIP, or SIP OPTIONS to the
// PBX on it.
var (
	PingVIP = func() (Probe, error) { return StartProber(VIP.String()) }
	SIPVIP  = func() (Probe, error) { return StartSIPProber(VIP.String() + ":5060") }
)

// MeasureFailover hard-kills the node running resource, measures from the
// client when the service answers again (per startProbe), and revives the node.
func MeasureFailover(ctx context.Context, resource string, startProbe func() (Probe, error)) (Failover, error) {
	f := Failover{Resource: resource}
	c, err := WaitCluster(ctx, Nodes[0], 60*time.Second, func(c *Cluster) bool {
		r, ok := c.Resource(resource)
		return ok && r.Running() && r.Node() != "" && c.Online() == len(Nodes)
	})
	if err != nil {
		return f, fmt.Errorf("before failover: %w", err)
	}
	r, _ := c.Resource(resource)
	f.From = r.Node()

	p, err := startProbe()
	if err != nil {
		return f, err
	}
	defer p.Stop()
	if err := waitFor(ctx, 5*time.Second, func() bool { return len(p.Replies()) >= 5 }); err != nil {
		return f, fmt.Errorf("the service on %s does not answer the client before the kill (on %s): %s", VIP, f.From, p.Output())
	}
	kill := time.Now()
	if err := KillNode(f.From); err != nil {
		return f, err
	}
	survivor := Nodes[(slices.Index(Nodes, f.From)+1)%len(Nodes)]
	c, err = WaitCluster(ctx, survivor, 60*time.Second, func(c *Cluster) bool {
		r, ok := c.Resource(resource)
		return ok && r.Running() && r.Node() != "" && r.Node() != f.From
	})
	if err != nil {
		return f, fmt.Errorf("after killing %s: %w", f.From, err)
	}
	r, _ = c.Resource(resource)
	f.To = r.Node()
	if err := waitFor(ctx, 10*time.Second, func() bool {
		rec, ok := Recovery(p.Replies(), kill)
		return ok && rec > 0 && time.Since(kill) > rec+300*time.Millisecond
	}); err != nil {
		return f, fmt.Errorf("the service did not answer again after %s took over: %s", f.To, p.Output())
	}
	f.Recovery, _ = Recovery(p.Replies(), kill)
	if ops, err := Operations(ctx, f.To, resource); err == nil {
		for _, op := range ops {
			if op.Task == "start" {
				f.StartExec = op.Exec
			}
		}
	}
	if err := Revive(f.From); err != nil {
		return f, err
	}
	_, err = WaitCluster(ctx, survivor, 120*time.Second, func(c *Cluster) bool { return c.Online() == len(Nodes) })
	return f, err
}

func waitFor(ctx context.Context, limit time.Duration, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("condition not met within %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
