package contracts

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want Version
		err  string
	}{
		{in: "0.0.0", want: Version{}},
		{in: "2.4.1", want: Version{Major: 2, Minor: 4, Patch: 1}},
		{in: "1.0.0-alpha", want: Version{Major: 1, Prerelease: []string{"alpha"}}},
		{in: "1.0.0-alpha.1", want: Version{Major: 1, Prerelease: []string{"alpha", "1"}}},
		{in: "1.0.0-0.3.7", want: Version{Major: 1, Prerelease: []string{"0", "3", "7"}}},
		{in: "1.0.0-x-y-z.--", want: Version{Major: 1, Prerelease: []string{"x-y-z", "--"}}},
		{in: "1.0.0+20130313144700", want: Version{Major: 1, Build: []string{"20130313144700"}}},
		{in: "1.0.0-beta+exp.sha.5114f85", want: Version{Major: 1, Prerelease: []string{"beta"}, Build: []string{"exp", "sha", "5114f85"}}},
		{in: "1.0.0+001", want: Version{Major: 1, Build: []string{"001"}}},
		{in: "1.0.0-rc.1+build-7", want: Version{Major: 1, Prerelease: []string{"rc", "1"}, Build: []string{"build-7"}}},
		{in: "18446744073709551615.0.0", want: Version{Major: 1<<64 - 1}},
		{in: "", err: "empty"},
		{in: "v1.0.0", err: `drop the leading "v"`},
		{in: "1.0", err: "MAJOR.MINOR.PATCH"},
		{in: "1.0.0.0", err: "MAJOR.MINOR.PATCH"},
		{in: "01.0.0", err: "major version \"01\" has a leading zero"},
		{in: "1.00.0", err: "minor version"},
		{in: "1.0.0a", err: "patch version \"0a\" is not a number"},
		{in: "1..0", err: "minor version is missing"},
		{in: "1.0.0-", err: "prerelease has an empty identifier"},
		{in: "1.0.0-01", err: "leading zero"},
		{in: "1.0.0-a..b", err: "empty identifier"},
		{in: "1.0.0-a_b", err: "only letters, digits and '-'"},
		{in: "1.0.0+", err: "build metadata has an empty identifier"},
		{in: "1.0.0+a+b", err: "build metadata identifier \"a+b\""},
		{in: "18446744073709551616.0.0", err: "too large"},
		{in: " 1.0.0", err: "not a number"},
		{in: "-1.0.0", err: "MAJOR.MINOR.PATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := ParseVersion(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want error containing %q", err, tt.err)
				}
				if !IsCode(err, CodeInvalid) {
					t.Fatalf("error %v is not invalid_request", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, tt.want) {
				t.Fatalf("got %+v, want %+v", v, tt.want)
			}
			if v.String() != tt.in {
				t.Fatalf("String() = %q, want %q", v.String(), tt.in)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	// The precedence example of semver.org, in ascending order, and more.
	ordered := []string{
		"0.9.99",
		"1.0.0-0.3.7",
		"1.0.0-alpha",
		"1.0.0-alpha.1",
		"1.0.0-alpha.beta",
		"1.0.0-beta",
		"1.0.0-beta.2",
		"1.0.0-beta.11",
		"1.0.0-beta.99999999999999999999999",
		"1.0.0-rc.1",
		"1.0.0",
		"1.0.1",
		"1.2.0",
		"1.10.0",
		"2.0.0",
	}
	for i, a := range ordered {
		for j, b := range ordered {
			va, vb := mustVersion(t, a), mustVersion(t, b)
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := va.Compare(vb); got != want {
				t.Errorf("%s vs %s: got %d, want %d", a, b, got, want)
			}
		}
	}
	if c := mustVersion(t, "1.0.0+a").Compare(mustVersion(t, "1.0.0+b")); c != 0 {
		t.Errorf("build metadata must not affect precedence, got %d", c)
	}
	if !mustVersion(t, "1.0.0-rc.1").IsPrerelease() || mustVersion(t, "1.0.0+b").IsPrerelease() {
		t.Error("IsPrerelease is wrong")
	}
}

func mustVersion(t *testing.T, s string) Version {
	t.Helper()
	v, err := ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
