package spec

import (
	"strconv"
	"strings"
)

// segment is one step of a JSON path: an object key or a list index.
type segment struct {
	key   string
	index int // -1 for a key
}

// parsePath reads the JSON paths contracts errors use: "phases[1].batch",
// "checks.healthz.http.url", `params["a b"]`. ok is false for anything else.
func parsePath(p string) (segs []segment, ok bool) {
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			i++
		case '[':
			rest := p[i+1:]
			if strings.HasPrefix(rest, `"`) {
				q, err := strconv.QuotedPrefix(rest)
				if err != nil || !strings.HasPrefix(rest[len(q):], "]") {
					return nil, false
				}
				key, err := strconv.Unquote(q)
				if err != nil {
					return nil, false
				}
				segs = append(segs, segment{key: key, index: -1})
				i += 1 + len(q) + 1
				continue
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, false
			}
			n, err := strconv.Atoi(rest[:end])
			if err != nil || n < 0 {
				return nil, false
			}
			segs = append(segs, segment{index: n})
			i += 1 + end + 1
		default:
			end := strings.IndexAny(p[i:], ".[")
			if end < 0 {
				end = len(p) - i
			}
			segs = append(segs, segment{key: p[i : i+end], index: -1})
			i += end
		}
	}
	return segs, true
}

// lineOf returns the line of the deepest value of the tree along path, or
// 0 when the path is not one or names nothing in the tree.
func lineOf(root *value, path string) int {
	segs, ok := parsePath(path)
	if !ok {
		return 0
	}
	line, v := 0, root
	for _, s := range segs {
		if s.index < 0 {
			f := v.field(s.key)
			if f == nil {
				return line
			}
			v, line = f.value, f.line
			continue
		}
		if v.kind != kindArray || s.index >= len(v.items) {
			return line
		}
		v, line = v.items[s.index], v.items[s.index].line
	}
	return line
}
