// Package groupcommit holds the batching step shared by the group-commit
// writers (pbx/store's SQLite writer, pbx/journal): take every request that
// queued while the previous commit ran, so one write and one fsync serve
// them all.
package groupcommit

// Drain returns buf[:0] holding first and then every value already waiting
// in ch, at most max values in all (max <= 0: no limit). It never blocks:
// it stops at the first moment ch is empty, or when ch is closed.
func Drain[T any](ch <-chan T, first T, buf []T, max int) []T {
	buf = append(buf[:0], first)
	for max <= 0 || len(buf) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return buf
			}
			buf = append(buf, v)
		default:
			return buf
		}
	}
	return buf
}
