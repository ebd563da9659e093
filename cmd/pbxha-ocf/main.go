// Command pbxha-ocf is the multi-call binary behind every ocf:pbxha:*
// resource agent. It is installed once and linked as
// $OCF_ROOT/resource.d/pbxha/<agent>; it picks the agent from the name it
// was called by.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"pbxha/resource-agents/drbd"
	"pbxha/resource-agents/fs"
	"pbxha/resource-agents/ocf"
	"pbxha/resource-agents/pbx"
	"pbxha/resource-agents/vip"
)

var agents = map[string]*ocf.Agent{
	"vip":  vip.Agent,
	"drbd": drbd.Agent,
	"fs":   fs.Agent,
	"pbx":  pbx.Agent,
}

func main() {
	name := filepath.Base(os.Args[0])
	if a, ok := agents[name]; ok {
		a.Main()
	}
	var names []string
	for n := range agents {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "pbxha-ocf: called as %q; link or copy this binary as one of %v (under $OCF_ROOT/resource.d/pbxha/)\n", name, names)
	os.Exit(int(ocf.ErrUnimplemented))
}
