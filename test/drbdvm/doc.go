// Package drbdvm boots Debian's 6.1 kernel (which ships drbd.ko 8.4) in qemu
// guests so that tests can run real DRBD replication on a machine whose own
// kernel has no DRBD.
//
// A test calls Boot to get two guests whose NICs are tap devices on a bridge
// inside a network namespace the harness creates (addresses in
// 198.18.10.0/24, nothing touches the host's network), each with a 64 MiB
// virtio data disk, and drives them with Guest.Run, which executes a shell
// script in the guest over a dedicated serial port and returns its stdout,
// stderr and exit status. Everything Boot creates is torn down by t.Cleanup.
//
// The guest image is a busybox initramfs (see initramfs.go) holding the
// kernel modules, drbd-utils' 8.4 tool chain and the project's static
// binaries; the kernel package is fetched once with apt-get download and
// cached under cache/ (see kernel.go).
package drbdvm
