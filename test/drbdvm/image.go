package drbdvm

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
)

// image is the content of an initramfs: guest paths mapped to file data or
// symlink targets. Parent directories are implied.
type image struct {
	files map[string]imageFile
	links map[string]string
}

type imageFile struct {
	perm fs.FileMode
	data []byte
}

func newImage() *image {
	return &image{files: map[string]imageFile{}, links: map[string]string{}}
}

// addFile puts data at the absolute guest path p.
func (im *image) addFile(p string, perm fs.FileMode, data []byte) {
	im.files[strings.TrimPrefix(path.Clean(p), "/")] = imageFile{perm: perm, data: data}
}

// addLink makes the absolute guest path p a symlink to target.
func (im *image) addLink(p, target string) {
	im.links[strings.TrimPrefix(path.Clean(p), "/")] = target
}

// copyHost copies a host file, following symlinks (cp -L), to guest path p.
func (im *image) copyHost(hostPath, p string) error {
	st, err := os.Stat(hostPath)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	data, err := os.ReadFile(hostPath)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	im.addFile(p, st.Mode().Perm(), data)
	return nil
}

// lddRE matches the library paths in ldd output: "libc.so.6 => /lib/..." and
// the loader line "/lib64/ld-linux-x86-64.so.2 (0x...)".
var lddRE = regexp.MustCompile(`(?m)(?:=> |^\s+)(/\S+) \(0x`)

// addProgram copies a host program to the same guest path together with
// the shared libraries and loader ldd reports for it.
func (im *image) addProgram(hostPath string) error {
	if err := im.copyHost(hostPath, hostPath); err != nil {
		return err
	}
	out, err := runHost("", "ldd", hostPath)
	if err != nil {
		// ldd fails on static executables and scripts: nothing to add.
		return nil
	}
	for _, m := range lddRE.FindAllSubmatch(out, -1) {
		if err := im.copyHost(string(m[1]), string(m[1])); err != nil {
			return fmt.Errorf("library of %s: %w", hostPath, err)
		}
	}
	return nil
}

// addTree copies every regular file under a host directory to the same
// guest paths (scripts and shell libraries, no ldd).
func (im *image) addTree(hostDir string) error {
	return fs.WalkDir(os.DirFS("/"), strings.TrimPrefix(hostDir, "/"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("image: %w", err)
		}
		if d.IsDir() {
			return nil
		}
		return im.copyHost("/"+p, "/"+p)
	})
}

// writeCpio writes the image as a newc archive, directories first.
func (im *image) writeCpio(w io.Writer) error {
	dirs := map[string]bool{}
	var names []string
	for _, set := range []map[string]bool{keys(im.files), keys(im.links)} {
		for p := range set {
			names = append(names, p)
			for d := path.Dir(p); d != "."; d = path.Dir(d) {
				dirs[d] = true
			}
		}
	}
	sortedDirs := make([]string, 0, len(dirs))
	for d := range dirs {
		sortedDirs = append(sortedDirs, d)
	}
	sort.Strings(sortedDirs) // a parent sorts before its children
	sort.Strings(names)
	c := &cpioWriter{w: w}
	for _, d := range sortedDirs {
		c.Dir(d)
	}
	for _, p := range names {
		if f, ok := im.files[p]; ok {
			c.File(p, f.perm, f.data)
		} else {
			c.Symlink(p, im.links[p])
		}
	}
	return c.Close()
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}
