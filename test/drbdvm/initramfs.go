package drbdvm

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

var (
	//go:embed guest/init
	guestInit []byte
	//go:embed guest/cmdloop
	guestCmdloop []byte
	//go:embed guest/crm_attribute
	guestCrmAttribute []byte
	//go:embed guest/usermode-helper
	guestUsermodeHelper []byte
	//go:embed guest/timeit
	guestTimeit []byte
)

// hostPrograms are copied into the guest with their shared libraries:
// drbd-utils. 8.4 chain (the 9.x drbdadm and drbdsetup hand over to
// drbdadm-84 and drbdsetup-84 when the 8.4 module is loaded; drbdadm-84
// calls drbdsetup-84 and drbdmeta), mkfs.ext4, and bash + xmllint for the
// shell resource agents and ocf-tester.
var hostPrograms = []string{
	"/usr/sbin/drbdadm", "/usr/sbin/drbdsetup", "/usr/lib/drbd/drbdadm-84", "/usr/lib/drbd/drbdsetup-84",
	"/usr/sbin/drbdmeta", "/usr/sbin/mkfs.ext4", "/usr/bin/bash", "/usr/bin/xmllint",
}

// hostTrees are copied whole: the OCF shell library and LINBIT's agent
// (the reference the project's agent is measured against), ocf-tester and
// the DTD it validates meta-data with.
var hostTrees = []string{
	"/usr/lib/ocf/lib/heartbeat", "/usr/lib/ocf/resource.d/linbit",
	"/usr/share/resource-agents",
}

// ocfAgents are the project's agents served by the multi-call pbxha-ocf.
var ocfAgents = []string{"drbd"}

// buildInitramfs assembles the guest's initramfs: busybox, /init and the
// command loop, the kernel's guestModules, hostPrograms and hostTrees, the
// crm_attribute stand-in, and the project's binaries found in binDir.
func buildInitramfs(k kernel, binDir string) ([]byte, error) {
	im := newImage()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	if err := im.copyHost(busybox, "/bin/busybox"); err != nil {
		return nil, err
	}
	im.addFile("/init", 0o755, guestInit)
	im.addFile("/sbin/cmdloop", 0o755, guestCmdloop)
	im.addFile("/usr/sbin/crm_attribute", 0o755, guestCrmAttribute)
	im.addLink("/usr/sbin/crm_master", "crm_attribute") // LINBIT's agent still calls it
	im.addFile("/usr/bin/timeit", 0o755, guestTimeit)
	im.addLink("/var/run", "/run")
	im.addLink("/var/lock", "/run/lock")
	im.addLink("/bin/sh", "busybox")
	im.addLink("/bin/bash", "/usr/bin/bash") // the #! of shell agents
	im.addFile("/sbin/drbdadm", 0o755, guestUsermodeHelper)
	// nobody: ocf-tester runs meta-data as that user to check permissions.
	im.addFile("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"))
	im.addFile("/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	im.addFile("/etc/drbd.conf", 0o644, []byte("include \"/etc/drbd.d/*.res\";\n"))
	im.addFile("/etc/modules.order", 0o644, []byte(strings.Join(guestModules, "\n")+"\n"))
	for _, m := range guestModules {
		if err := im.copyHost(filepath.Join(k.Modules, m+".ko"), "/lib/modules/"+m+".ko"); err != nil {
			return nil, err
		}
	}
	for _, p := range hostPrograms {
		if err := im.addProgram(p); err != nil {
			return nil, err
		}
	}
	for _, d := range hostTrees {
		if err := im.addTree(d); err != nil {
			return nil, err
		}
	}
	if err := im.copyHost("/usr/sbin/ocf-tester", "/usr/sbin/ocf-tester"); err != nil {
		return nil, err
	}
	if err := addProjectBinaries(im, binDir); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := im.writeCpio(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// addProjectBinaries adds drbdctl and pbxha-ocf (with its OCF agent links)
// when binDir holds them.
func addProjectBinaries(im *image, binDir string) error {
	for _, name := range projectBinaries {
		p := filepath.Join(binDir, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := im.copyHost(p, "/usr/bin/"+name); err != nil {
			return err
		}
		if name == "pbxha-ocf" {
			for _, a := range ocfAgents {
				im.addLink("/usr/lib/ocf/resource.d/pbxha/"+a, "/usr/bin/pbxha-ocf")
			}
		}
	}
	return nil
}
