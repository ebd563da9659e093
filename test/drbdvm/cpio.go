package drbdvm

import (
	"fmt"
	"io"
	"io/fs"
)

// cpioWriter writes a "newc" (SVR4, no CRC) cpio archive, the format the
// Linux kernel unpacks as an initramfs.
type cpioWriter struct {
	w     io.Writer
	ino   int
	err   error
	total int64
}

const (
	cpioModeDir     = 0o040000
	cpioModeFile    = 0o100000
	cpioModeSymlink = 0o120000
)

// header writes one entry header, its name and the padding after the name.
func (c *cpioWriter) header(name string, mode uint32, size int) {
	c.ino++
	nlink := 1
	if mode&cpioModeDir != 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	c.write([]byte(hdr + name + "\x00"))
	c.pad()
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.total += int64(n)
	if err != nil {
		c.err = fmt.Errorf("write cpio: %w", err)
	}
}

// pad aligns the stream to 4 bytes, as newc requires after names and data.
func (c *cpioWriter) pad() {
	if r := c.total % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// Dir adds a directory.
func (c *cpioWriter) Dir(name string) { c.header(name, cpioModeDir|0o755, 0) }

// File adds a regular file with the given permission bits.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) {
	c.header(name, cpioModeFile|uint32(perm.Perm()), len(data))
	c.write(data)
	c.pad()
}

// Symlink adds a symbolic link name -> target.
func (c *cpioWriter) Symlink(name, target string) {
	c.header(name, cpioModeSymlink|0o777, len(target))
	c.write([]byte(target))
	c.pad()
}

// Close writes the trailer and reports the first error met.
func (c *cpioWriter) Close() error {
	c.header("TRAILER!!!", 0, 0)
	return c.err
}
