package contracts

import (
	"strings"
	"testing"
)

func TestCheckVersion(t *testing.T) {
	for _, ok := range []string{"2.4.1", "1.0.0-rc.1+build.7", "3f2a9c1e4b5d6f708192a3b4c5d6e7f8091a2b3c", "2026.11.30-3f2a9c1", "v2", "release_7", strings.Repeat("a", 128)} {
		if err := CheckVersion("version", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-rf", ".hidden", "1.0;rm -rf /", "$(id)", "`id`", "a|b", "a&b", "a b", "a>b", "a/b", "a\\b", "a'b", "a\"b", "a\nb", "a*", "ä", strings.Repeat("a", 129)} {
		err := CheckVersion("version", bad)
		if e := AsError(err); e == nil || e.Field != "version" || e.Code != CodeInvalid {
			t.Errorf("%q accepted or wrong error: %v", bad, err)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		c    int
		ok   bool
	}{
		{"1.2.3", "1.10.0", -1, true},
		{"2.0.0", "2.0.0-rc.1", 1, true},
		{"1.0.0+a", "1.0.0+b", 0, true},
		{"3f2a9c1", "1.0.0", 0, false},
		{"release_7", "1.0.0", 0, false},
		// An image tag that happens to be semver orders as semver.
		{"2026.11.30-3f2a9c1", "2026.11.30", -1, true},
	} {
		c, ok := CompareVersions(tc.a, tc.b)
		if c != tc.c || ok != tc.ok {
			t.Errorf("CompareVersions(%q, %q) = %d, %v, want %d, %v", tc.a, tc.b, c, ok, tc.c, tc.ok)
		}
	}
}

func TestConstraint(t *testing.T) {
	c, err := ParseConstraint("requires[0].version", ">=3.2.0 <4.0.0")
	if err != nil || c.String() != ">=3.2.0 <4.0.0" {
		t.Fatalf("ParseConstraint = %v, %v", c, err)
	}
	for v, want := range map[string]bool{"3.2.0": true, "3.9.9": true, "4.0.0": false, "3.1.9": false, "4.0.0-rc.1": true /* below 4.0.0 by precedence */} {
		got, err := c.Allows("version", v)
		if err != nil || got != want {
			t.Errorf("Allows(%q) = %v, %v, want %v", v, got, err, want)
		}
	}
	exact, _ := ParseConstraint("c", "1.2.3")
	if ok, _ := exact.Allows("v", "1.2.3"); !ok {
		t.Error("bare version is not =")
	}
	ne, _ := ParseConstraint("c", "!=1.2.3 >1.0.0 <=2.0.0")
	if ok, _ := ne.Allows("v", "1.2.3"); ok {
		t.Error("!= allowed the version")
	}
	// A git SHA or an image tag has no order: a constraint on it is refused.
	_, err = c.Allows("version", "3f2a9c1e4b5d")
	if e := AsError(err); e == nil || e.Field != "version" || !strings.Contains(e.Message, "ordering is defined only between semantic versions") {
		t.Fatalf("constraint on a tag: %v", err)
	}
	for _, bad := range []string{"", ">=3f2a9c1", ">=1.0 <2", "~1.2.3"} {
		_, err := ParseConstraint("requires[0].version", bad)
		if e := AsError(err); e == nil || e.Field != "requires[0].version" {
			t.Errorf("ParseConstraint(%q) = %v", bad, err)
		}
	}
}
