// Package drbdctl reads and drives DRBD 8.4 and DRBD 9 resources.
//
// It is shaped like ClusterLabs' ha_cluster_exporter: one Go model for both
// DRBD generations (model.go), pure parsers that turn captured tool output
// into that model (parse_*.go: `drbdsetup status --json`, `drbdsetup events2`
// lines and /proc/drbd; they never run anything), and a thin Runner that
// executes drbdadm/drbdsetup (runner.go; it never parses). Actions (Up,
// Primary, WaitSync...) sit on top of both in a Client and return typed
// errors (errors.go) that callers match with errors.Is/errors.As.
//
// The status of one resource is read the same way on both generations:
// `drbdsetup events2 --now --statistics RES`, which drbd-utils 9 forwards to
// drbdsetup-84 when the loaded module is 8.4.
package drbdctl
