package drbdvm

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OCFRoot is where the guests carry resource agents: pbxha/drbd (the
// project's pbxha-ocf) and linbit/drbd (drbd-utils' shell agent).
const OCFRoot = "/usr/lib/ocf"

// Agent calls one promotable-clone instance of a resource agent the way
// Pacemaker's executor does: a clean environment holding only the OCF
// variables, the resource's parameters (OCF_RESKEY_<name>) and the
// operation's meta attributes (OCF_RESKEY_CRM_meta_<name>).
type Agent struct {
	Type     string // provider/type under $OCF_ROOT/resource.d, e.g. "pbxha/drbd"
	Resource string // clone id, e.g. "drbd-pbx"
	Params   map[string]string
	// PathPrefix is put before the executor's PATH; empty for an agent that
	// finds its tools itself.
	PathPrefix string
}

// Notification is one clone notification: which instances (by node name)
// take part in the operation, and the clone's state around it.
type Notification struct {
	Type, Operation              string // pre|post, start|stop|promote|demote
	Start, Stop, Promote, Demote []*Guest
	Active, Promoted, Unpromoted []*Guest
}

// agentPATH is the executor's PATH on Debian (systemd's default): it has
// no /usr/lib/drbd, so agents must find drbd-utils' 8.4 tools themselves.
const agentPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Script returns the shell command that runs action on g; interval 0 with
// "monitor" is a probe. extra meta attributes are added (notifications).
func (a Agent) Script(g *Guest, action string, interval time.Duration, extra map[string]string) string {
	provider, typ, _ := strings.Cut(a.Type, "/")
	env := map[string]string{
		"PATH": a.PathPrefix + agentPATH, "OCF_ROOT": OCFRoot,
		"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1",
		"OCF_RESOURCE_INSTANCE": a.instance(g), "OCF_RESOURCE_TYPE": typ, "OCF_RESOURCE_PROVIDER": provider,
		"HA_RSCTMP": "/run/resource-agents", "OCF_RESKEY_crm_feature_set": "3.16.2",
	}
	for k, v := range a.Params {
		env["OCF_RESKEY_"+k] = v
	}
	meta := map[string]string{
		"name": action, "interval": strconv.FormatInt(interval.Milliseconds(), 10), "timeout": "90000",
		"on_node": g.Name, "on_node_uuid": g.Name, "clone": strconv.Itoa(g.Index),
		"clone_max": "2", "clone_node_max": "1", "promoted_max": "1", "promoted_node_max": "1",
		"master_max": "1", "master_node_max": "1", "notify": "true", "globally_unique": "false",
	}
	for k, v := range extra {
		meta[k] = v
	}
	for k, v := range meta {
		env["OCF_RESKEY_CRM_meta_"+k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("env -i")
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, env[k])
	}
	fmt.Fprintf(&b, " %s/resource.d/%s %s", OCFRoot, a.Type, action)
	return b.String()
}

// instance is the clone instance name Pacemaker gives the copy on g.
func (a Agent) instance(g *Guest) string {
	return a.Resource + ":" + strconv.Itoa(g.Index)
}

// NotifyMeta returns the notification's meta attributes: for each list,
// notify_<list>_uname (node names) and notify_<list>_resource (instances),
// with the legacy master/slave names Pacemaker still sets.
func (a Agent) NotifyMeta(n Notification) map[string]string {
	meta := map[string]string{"notify_type": n.Type, "notify_operation": n.Operation}
	lists := map[string][]*Guest{
		"start": n.Start, "stop": n.Stop, "promote": n.Promote, "demote": n.Demote,
		"active": n.Active, "promoted": n.Promoted, "unpromoted": n.Unpromoted,
		"master": n.Promoted, "slave": n.Unpromoted,
	}
	for name, guests := range lists {
		var unames, insts []string
		for _, g := range guests {
			unames = append(unames, g.Name)
			insts = append(insts, a.instance(g))
		}
		meta["notify_"+name+"_uname"] = strings.Join(unames, " ")
		meta["notify_"+name+"_resource"] = strings.Join(insts, " ")
	}
	return meta
}
