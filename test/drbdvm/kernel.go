package drbdvm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// kernelMeta is the Debian metapackage whose dependency names the kernel.
const kernelMeta = "linux-image-amd64"

// guestModules are the kernel modules the guest loads, in insmod order
// (each after the modules it needs): virtio disk and NIC, DRBD, ext4.
var guestModules = []string{
	"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
	"virtio_pci", "virtio_blk", "failover", "net_failover", "virtio_net",
	"crc32c_generic", "libcrc32c", "lru_cache", "drbd",
	"crc16", "mbcache", "jbd2", "ext4",
}

// kernel is an unpacked Debian kernel: its bzImage and the guestModules,
// kept flat as modules/NAME.ko.
type kernel struct {
	Package string
	Vmlinuz string
	Modules string
}

var kernelDepRE = regexp.MustCompile(`(?m)^\s*Depends: (linux-image-[0-9][^\s]*-amd64)$`)

// kernelPackage returns the versioned package kernelMeta depends on,
// refreshing the package lists once when apt does not know it yet.
func kernelPackage() (string, error) {
	for attempt := 0; ; attempt++ {
		out, err := runHost("", "apt-cache", "depends", kernelMeta)
		if m := kernelDepRE.FindSubmatch(out); err == nil && m != nil {
			return string(m[1]), nil
		}
		if attempt > 0 {
			return "", fmt.Errorf("find the package behind %s: %v", kernelMeta, err)
		}
		if _, err := runHost("", "apt-get", "update", "-qq"); err != nil {
			return "", fmt.Errorf("refresh package lists: %w", err)
		}
	}
}

// fetchKernel returns the cached kernel under cacheDir, downloading and
// unpacking it first when absent (apt-get download + dpkg -x: nothing is
// installed on the host). Only vmlinuz and guestModules are kept.
func fetchKernel(cacheDir string) (kernel, error) {
	pkg, err := kernelPackage()
	if err != nil {
		return kernel{}, err
	}
	dir := filepath.Join(cacheDir, pkg)
	k := kernel{Package: pkg, Vmlinuz: filepath.Join(dir, "vmlinuz"), Modules: filepath.Join(dir, "modules")}
	if _, err := os.Stat(k.Vmlinuz); err == nil {
		return k, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return kernel{}, fmt.Errorf("kernel cache: %w", err)
	}
	scratch, err := os.MkdirTemp(cacheDir, "unpack-")
	if err != nil {
		return kernel{}, fmt.Errorf("kernel cache: %w", err)
	}
	defer os.RemoveAll(scratch)
	if _, err := runHost(scratch, "apt-get", "download", "-q", pkg); err != nil {
		return kernel{}, fmt.Errorf("download kernel: %w", err)
	}
	debs, _ := filepath.Glob(filepath.Join(scratch, pkg+"_*.deb"))
	if len(debs) != 1 {
		return kernel{}, fmt.Errorf("download kernel: expected one %s .deb in %s, found %d", pkg, scratch, len(debs))
	}
	root := filepath.Join(scratch, "root")
	if _, err := runHost("", "dpkg", "-x", debs[0], root); err != nil {
		return kernel{}, fmt.Errorf("unpack kernel: %w", err)
	}
	staged := filepath.Join(scratch, "kernel")
	if err := stageKernel(root, staged); err != nil {
		return kernel{}, fmt.Errorf("unpack kernel %s: %w", pkg, err)
	}
	if err := os.Rename(staged, dir); err != nil {
		return kernel{}, fmt.Errorf("kernel cache: %w", err)
	}
	return k, nil
}

// stageKernel copies vmlinuz and guestModules from an unpacked package root.
func stageKernel(root, dst string) error {
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return fmt.Errorf("expected one boot/vmlinuz-*, found %d", len(images))
	}
	if err := os.MkdirAll(filepath.Join(dst, "modules"), 0o755); err != nil {
		return err
	}
	if err := copyFile(images[0], filepath.Join(dst, "vmlinuz")); err != nil {
		return err
	}
	found := map[string]string{}
	err := filepath.WalkDir(filepath.Join(root, "lib", "modules"), func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			found[filepath.Base(p)] = p
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range guestModules {
		src, ok := found[m+".ko"]
		if !ok {
			return fmt.Errorf("module %s.ko not in the package", m)
		}
		if err := copyFile(src, filepath.Join(dst, "modules", m+".ko")); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
