// Package lab runs a real three-node Corosync/Pacemaker cluster on one
// machine, for tests, benchmarks and `make lab`.
//
// Topology (all in network namespaces; the host's own network is not
// touched): a "switch" namespace pbxha-sw holds bridge br0; nodes pbxha-n1..3
// (198.18.0.1-3/24) and a client pbxha-c1 (198.18.0.100/24) each have an
// eth0 whose peer is a port of br0. The VIP is 198.18.0.50.
//
// Each node is a PID namespace of its own whose PID 1 is `pbxha-lab init`
// (init.go): it bind-mounts the node's private /run, /dev/shm,
// /var/lib/pacemaker, /var/lib/corosync, /etc/corosync and /var/log from
// /var/lib/pbxha-lab/NODE, sets the hostname, mounts the pbxha agents under
// /usr/lib/ocf/resource.d/pbxha, starts corosync and pacemakerd in the
// foreground and reaps. Killing that PID 1 kills the whole node at once,
// like a power cut; pulling its switch port is the cable. State lives in
// /var/lib/pbxha-lab, so `test/lab/on NODE CMD` and `pbxha-lab down` work from
// any shell after `pbxha-lab up` has returned.
package lab
