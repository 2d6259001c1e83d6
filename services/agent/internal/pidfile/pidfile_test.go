package pidfile

import (
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for s, want := range map[string]int{"123\n": 123, "1": 1, "0": 0, "-1": 0, "12 ": 0, "+5": 0, "007": 0, "1\n\n": 0, "": 0, "12; rm -rf /": 0} {
		pid, err := Parse("p", s)
		if (want == 0) != (err != nil) || pid != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", s, pid, err, want)
		}
	}
}

func FuzzParsePid(f *testing.F) {
	for _, s := range []string{"123\n", "0", "-1", "12 ", "+5", "007", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pid, err := Parse("p", s)
		if err != nil {
			return
		}
		if pid <= 0 || strconv.Itoa(pid) != strings.TrimSuffix(s, "\n") {
			t.Fatalf("%q parsed as %d", s, pid)
		}
	})
}
