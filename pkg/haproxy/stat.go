package haproxy

import (
	"fmt"
	"strconv"
	"strings"
)

// ServerStat is what Rollwave reads of one server in "show stat".
type ServerStat struct {
	Backend string
	Server  string
	// Sessions is scur, the server's current sessions.
	Sessions int
	// Status is HAProxy's view: UP, DOWN, DRAIN, MAINT, no check, ...
	Status string
	// Weight is the effective weight.
	Weight int
}

// columns Rollwave needs from a show stat header.
var statColumns = []string{"pxname", "svname", "scur", "status", "weight"}

// ParseStat reads the CSV answer of "show stat": a header line "# name,..."
// and one line per proxy or server with as many fields. Only server rows
// (svname neither FRONTEND nor BACKEND) are returned. Anything that does
// not fit is an error naming the line.
func ParseStat(out string) ([]ServerStat, error) {
	lines := strings.Split(out, "\n")
	header := lines[0]
	if !strings.HasPrefix(header, "# ") {
		return nil, fmt.Errorf("show stat line 1: want a header starting with \"# \", got %q", clip(header))
	}
	names := strings.Split(strings.TrimPrefix(header, "# "), ",")
	col := make(map[string]int, len(names))
	for i, n := range names {
		if n == "" {
			continue
		}
		if _, dup := col[n]; dup {
			return nil, fmt.Errorf("show stat line 1: column %q twice", clip(n))
		}
		col[n] = i
	}
	for _, n := range statColumns {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("show stat line 1: no column %q", n)
		}
	}
	var stats []ServerStat
	for i, line := range lines[1:] {
		lineNo := i + 2
		if line == "" {
			// The answer ends with an empty line; nothing may follow it.
			for _, rest := range lines[i+2:] {
				if rest != "" {
					return nil, fmt.Errorf("show stat line %d: a row after the empty line that ends the answer", lineNo)
				}
			}
			break
		}
		fields := strings.Split(line, ",")
		if len(fields) != len(names) {
			return nil, fmt.Errorf("show stat line %d: %d fields, the header has %d", lineNo, len(fields), len(names))
		}
		sv := fields[col["svname"]]
		if sv == "FRONTEND" || sv == "BACKEND" {
			continue
		}
		s := ServerStat{Backend: fields[col["pxname"]], Server: sv, Status: fields[col["status"]]}
		if s.Backend == "" || s.Server == "" {
			return nil, fmt.Errorf("show stat line %d: empty pxname or svname", lineNo)
		}
		var err error
		if s.Sessions, err = count(fields[col["scur"]]); err != nil {
			return nil, fmt.Errorf("show stat line %d: scur: %w", lineNo, err)
		}
		if s.Weight, err = count(fields[col["weight"]]); err != nil {
			return nil, fmt.Errorf("show stat line %d: weight: %w", lineNo, err)
		}
		stats = append(stats, s)
	}
	return stats, nil
}

// count reads a non-negative integer field.
func count(f string) (int, error) {
	n, err := strconv.Atoi(f)
	if err != nil || n < 0 || strings.HasPrefix(f, "+") {
		return 0, fmt.Errorf("want a non-negative integer, got %q", clip(f))
	}
	return n, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
