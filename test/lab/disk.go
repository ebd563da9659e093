package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The lab has no DRBD (the host kernel lacks it; real DRBD runs in qemu,
// see test/drbdvm), so the PBX volume is a loop device every node can see,
// like a shared disk: Pacemaker's fs resource mounts it on one node at a
// time, inside that node's mount namespace.
var (
	// DiskLink names the data volume's device for the nodes (a symlink to the loop device).
	DiskLink = filepath.Join(StateDir, "disk")
	// DataDir is where ocf:pbxha:fs mounts the volume on the active node.
	DataDir   = filepath.Join(StateDir, "srv")
	diskImage = filepath.Join(StateDir, "disk.img")
)

// setupDisk makes the volume: ext4 on a loop device, initialised by `pbx
// init` in a private mount namespace (the host never sees it mounted).
func setupDisk(pbxBin string) error {
	if err := os.MkdirAll(DataDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(diskImage, nil, 0o600); err != nil {
		return err
	}
	if err := os.Truncate(diskImage, 128<<20); err != nil {
		return err
	}
	if err := sh("mkfs.ext4", "-q", "-F", "-L", "pbxha", diskImage); err != nil {
		return err
	}
	out, err := exec.Command("losetup", "--find", "--show", diskImage).Output()
	if err != nil {
		return fmt.Errorf("losetup %s: %w", diskImage, err)
	}
	dev := strings.TrimSpace(string(out))
	if err := os.Symlink(dev, DiskLink); err != nil {
		return err
	}
	// Digest challenges MD5 first: sipp (and many phones) answer only the first.
	script := fmt.Sprintf(`mount %[1]s %[2]s && %[3]s init --data %[2]s && printf '%[4]s\n' > %[2]s/pbx.json; rc=$?; umount %[2]s; exit $rc`,
		dev, DataDir, pbxBin, `{"digest_algorithms": ["MD5", "SHA-256"]}`)
	if err := sh("unshare", "--mount", "--propagation", "private", "sh", "-c", script); err != nil {
		return fmt.Errorf("initialise the PBX volume: %w", err)
	}
	return nil
}

// removeDisk detaches the loop device (the kernel frees it once the last
// node that mounted it is gone).
func removeDisk() error {
	dev, err := os.Readlink(DiskLink)
	if err != nil {
		return nil // no disk in this lab
	}
	return sh("losetup", "--detach", dev)
}
