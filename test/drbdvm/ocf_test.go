package drbdvm

import (
	"strings"
	"testing"
	"time"
)

func TestAgentScript(t *testing.T) {
	g := &Guest{Name: "node-b", Index: 1}
	a := Agent{Type: "linbit/drbd", Resource: "ms", PathPrefix: "/usr/lib/drbd:", Params: map[string]string{"drbd_resource": "r0"}}
	tests := []struct {
		name, action string
		interval     time.Duration
		meta         map[string]string
		want         []string
	}{
		{name: "probe", action: "monitor", want: []string{
			`OCF_RESKEY_CRM_meta_interval="0"`, `OCF_RESOURCE_INSTANCE="ms:1"`, `OCF_RESOURCE_PROVIDER="linbit"`,
			`OCF_RESOURCE_TYPE="drbd"`, `OCF_RESKEY_drbd_resource="r0"`, `OCF_RESKEY_CRM_meta_clone="1"`,
			`PATH="/usr/lib/drbd:` + agentPATH + `"`, " /usr/lib/ocf/resource.d/linbit/drbd monitor"}},
		{name: "recurring monitor", action: "monitor", interval: 31 * time.Second, want: []string{
			`OCF_RESKEY_CRM_meta_interval="31000"`, `OCF_RESKEY_CRM_meta_on_node="node-b"`}},
		{name: "notify", action: "notify", meta: a.NotifyMeta(Notification{Type: "pre", Operation: "promote",
			Promote: []*Guest{g}, Active: []*Guest{{Name: "node-a"}, g}}), want: []string{
			`OCF_RESKEY_CRM_meta_notify_type="pre"`, `OCF_RESKEY_CRM_meta_notify_operation="promote"`,
			`OCF_RESKEY_CRM_meta_notify_promote_uname="node-b"`, `OCF_RESKEY_CRM_meta_notify_promote_resource="ms:1"`,
			`OCF_RESKEY_CRM_meta_notify_active_uname="node-a node-b"`, `OCF_RESKEY_CRM_meta_notify_active_resource="ms:0 ms:1"`,
			`OCF_RESKEY_CRM_meta_notify_demote_uname=""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.Script(g, tt.action, tt.interval, tt.meta)
			if !strings.HasPrefix(got, "env -i ") {
				t.Errorf("script %q does not start from an empty environment", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("script lacks %s:\n%s", w, got)
				}
			}
		})
	}
}
