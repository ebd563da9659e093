// Package drbdvm boots Debian's 6.1 kernel (which ships drbd.ko 8.4) in qemu
// guests so that tests can run real DRBD replication on a machine whose own
// kernel has no DRBD.
//
// A test calls Boot to get two guests, node-a and node-b, whose NICs are
// tap devices on a bridge inside a network namespace the harness creates
// (addresses 198.18.10.1 and .2: nothing touches the host's network), each
// with a 64 MiB virtio data disk (/dev/vda), and drives them with
// Guest.Run, which executes a shell script in the guest over a dedicated
// serial port (ttyS1; the kernel console goes to a log file on ttyS0) and
// returns its stdout, stderr and exit status. Everything Boot creates is
// torn down by t.Cleanup; qemu also dies with the test process, and
// namespaces of dead test processes are swept by the next Boot.
//
// On top of that: ConfigureDRBD writes the resource r0 and its meta-data;
// Await/AwaitDRBD/AwaitSynced wait inside the guest for an end state; Agent
// and Clone call OCF resource agents exactly as Pacemaker's executor does
// (environment, clone meta attributes, notifications, probes).
//
// The guest image is a busybox initramfs assembled in Go (initramfs.go):
// the kernel modules, drbd-utils' 8.4 tool chain, mkfs.ext4, bash, xmllint,
// ocf-tester and LINBIT's OCF agent from the host, the project's static
// drbdctl and pbxha-ocf, a crm_attribute/crm_master stand-in that records
// its calls in /var/log/crm_attribute.log, and timeit for in-guest timing.
// The kernel package is fetched once with apt-get download and cached under
// cache/ (kernel.go); nothing is installed on the host.
package drbdvm
