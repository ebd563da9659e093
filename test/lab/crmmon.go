package lab

import (
	"context"
	"encoding/xml"
	"fmt"
	"time"
)

// Cluster is what `crm_mon --output-as=xml` says about the cluster.
type Cluster struct {
	DC        string // name of the designated controller, "" when none
	Quorate   bool
	Nodes     []NodeState
	Resources []Resource // primitives, flattened out of groups and clones
}

// NodeState is one <node> of crm_mon's <nodes>.
type NodeState struct {
	Name    string `xml:"name,attr"`
	Online  bool   `xml:"online,attr"`
	Standby bool   `xml:"standby,attr"`
	Unclean bool   `xml:"unclean,attr"`
}

// Resource is one primitive and where it runs.
type Resource struct {
	ID      string `xml:"id,attr"`
	Agent   string `xml:"resource_agent,attr"`
	Role    string `xml:"role,attr"`
	Active  bool   `xml:"active,attr"`
	Failed  bool   `xml:"failed,attr"`
	Pending string `xml:"pending,attr"` // an operation in flight, e.g. "Starting"
	On      []struct {
		Name string `xml:"name,attr"`
	} `xml:"node"`
}

// Running reports whether the resource is active with no operation in
// flight (crm_mon lists a resource being started as active, pending).
func (r Resource) Running() bool { return r.Active && r.Pending == "" && !r.Failed }

// Node is the node the resource runs on, "" when stopped.
func (r Resource) Node() string {
	if len(r.On) == 0 {
		return ""
	}
	return r.On[0].Name
}

// container is a group, clone or bundle: resources nest inside.
type container struct {
	Resources []Resource  `xml:"resource"`
	Nested    []container `xml:",any"`
}

func (c container) flatten() []Resource {
	out := append([]Resource(nil), c.Resources...)
	for _, n := range c.Nested {
		out = append(out, n.flatten()...)
	}
	return out
}

// ParseCrmMon decodes `crm_mon --output-as=xml` (Pacemaker 2.1).
func ParseCrmMon(b []byte) (*Cluster, error) {
	var doc struct {
		XMLName xml.Name `xml:"pacemaker-result"`
		Summary struct {
			DC struct {
				Present bool   `xml:"present,attr"`
				Name    string `xml:"name,attr"`
				Quorum  bool   `xml:"with_quorum,attr"`
			} `xml:"current_dc"`
		} `xml:"summary"`
		Nodes     []NodeState `xml:"nodes>node"`
		Resources container   `xml:"resources"`
		Status    struct {
			Code    int    `xml:"code,attr"`
			Message string `xml:"message,attr"`
		} `xml:"status"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse crm_mon XML: %w", err)
	}
	if doc.Status.Code != 0 {
		return nil, fmt.Errorf("crm_mon: %s (code %d)", doc.Status.Message, doc.Status.Code)
	}
	c := &Cluster{Quorate: doc.Summary.DC.Quorum, Nodes: doc.Nodes, Resources: doc.Resources.flatten()}
	if doc.Summary.DC.Present {
		c.DC = doc.Summary.DC.Name
	}
	return c, nil
}

// Online counts the online, clean nodes.
func (c *Cluster) Online() int {
	n := 0
	for _, s := range c.Nodes {
		if s.Online && !s.Unclean {
			n++
		}
	}
	return n
}

// AllStarted reports whether resources are configured and all are active.
func AllStarted(c *Cluster) bool {
	for _, r := range c.Resources {
		if !r.Running() {
			return false
		}
	}
	return len(c.Resources) > 0
}

// Resource returns the primitive with the given id.
func (c *Cluster) Resource(id string) (Resource, bool) {
	for _, r := range c.Resources {
		if r.ID == id {
			return r, true
		}
	}
	return Resource{}, false
}

// Operation is one entry of a resource's operation history on a node.
type Operation struct {
	Task     string
	RC       int
	Interval time.Duration
	Exec     time.Duration // how long the agent ran (Pacemaker's exec-time)
}

// ParseOperations decodes the history of resource on node from
// `crm_mon --output-as=xml --include=operations`.
func ParseOperations(b []byte, node, resource string) ([]Operation, error) {
	var doc struct {
		Nodes []struct {
			Name      string `xml:"name,attr"`
			Resources []struct {
				ID  string `xml:"id,attr"`
				Ops []struct {
					Task     string `xml:"task,attr"`
					RC       int    `xml:"rc,attr"`
					Interval string `xml:"interval,attr"`
					Exec     string `xml:"exec-time,attr"`
				} `xml:"operation_history"`
			} `xml:"resource_history"`
		} `xml:"node_history>node"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse crm_mon operations: %w", err)
	}
	var ops []Operation
	for _, n := range doc.Nodes {
		if n.Name != node {
			continue
		}
		for _, r := range n.Resources {
			if r.ID != resource {
				continue
			}
			for _, o := range r.Ops {
				op := Operation{Task: o.Task, RC: o.RC}
				var err error
				if o.Interval != "" {
					if op.Interval, err = time.ParseDuration(o.Interval); err != nil {
						return nil, fmt.Errorf("operation %s interval %q: %w", o.Task, o.Interval, err)
					}
				}
				if op.Exec, err = time.ParseDuration(o.Exec); err != nil {
					return nil, fmt.Errorf("operation %s exec-time %q: %w", o.Task, o.Exec, err)
				}
				ops = append(ops, op)
			}
		}
	}
	return ops, nil
}

// Operations asks node for resource's operation history there.
func Operations(ctx context.Context, node, resource string) ([]Operation, error) {
	out, err := On(ctx, node, "crm_mon", "--one-shot", "--output-as=xml", "--include=operations")
	if err != nil {
		return nil, err
	}
	return ParseOperations(out, node, resource)
}
