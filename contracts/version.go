package contracts

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version 2.0.0 (https://semver.org):
// MAJOR.MINOR.PATCH with an optional -prerelease and +build.
type Version struct {
	Major, Minor, Patch uint64
	// Prerelease holds the dot-separated identifiers after '-'.
	Prerelease []string
	// Build holds the dot-separated identifiers after '+'; they do not
	// take part in precedence.
	Build []string
}

// ParseVersion reads a semantic version such as "2.4.1", "1.0.0-rc.1" or
// "1.0.0+build.5". A leading "v" is not part of semver and is rejected.
func ParseVersion(s string) (Version, error) {
	var v Version
	if err := v.parse(s); err != nil {
		return Version{}, Invalid("", "%q is not a semantic version such as \"2.4.1\": %s", clip(s), err)
	}
	return v, nil
}

func (v *Version) parse(s string) error {
	if s == "" {
		return fmt.Errorf("it is empty")
	}
	if s[0] == 'v' || s[0] == 'V' {
		return fmt.Errorf("drop the leading %q", s[:1])
	}
	core, build, hasBuild := strings.Cut(s, "+")
	core, pre, hasPre := strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return fmt.Errorf("it needs MAJOR.MINOR.PATCH, found %d number(s)", len(parts))
	}
	names := [3]string{"major", "minor", "patch"}
	nums := [3]*uint64{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		n, err := numericPart(p)
		if err != nil {
			return fmt.Errorf("%s version %s", names[i], err)
		}
		*nums[i] = n
	}
	if hasPre {
		ids, err := identifiers(pre, true)
		if err != nil {
			return fmt.Errorf("prerelease %s", err)
		}
		v.Prerelease = ids
	}
	if hasBuild {
		ids, err := identifiers(build, false)
		if err != nil {
			return fmt.Errorf("build metadata %s", err)
		}
		v.Build = ids
	}
	return nil
}

func numericPart(p string) (uint64, error) {
	switch {
	case p == "":
		return 0, fmt.Errorf("is missing")
	case !allDigits(p):
		return 0, fmt.Errorf("%q is not a number", p)
	case len(p) > 1 && p[0] == '0':
		return 0, fmt.Errorf("%q has a leading zero", p)
	}
	n, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", p)
	}
	return n, nil
}

// identifiers splits dot-separated identifiers of [0-9A-Za-z-]; numeric
// prerelease identifiers must not have leading zeros.
func identifiers(s string, prerelease bool) ([]string, error) {
	ids := strings.Split(s, ".")
	for _, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("has an empty identifier")
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return nil, fmt.Errorf("identifier %q may hold only letters, digits and '-'", id)
			}
		}
		if prerelease && allDigits(id) && len(id) > 1 && id[0] == '0' {
			return nil, fmt.Errorf("identifier %q has a leading zero", id)
		}
	}
	return ids, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// String writes the version in its canonical form.
func (v Version) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Prerelease) > 0 {
		b.WriteString("-" + strings.Join(v.Prerelease, "."))
	}
	if len(v.Build) > 0 {
		b.WriteString("+" + strings.Join(v.Build, "."))
	}
	return b.String()
}

// IsPrerelease reports whether the version has prerelease identifiers.
func (v Version) IsPrerelease() bool { return len(v.Prerelease) > 0 }

// Compare orders versions by semver precedence: -1 when v < w, 0 when they
// have the same precedence (build metadata is ignored), +1 when v > w.
func (v Version) Compare(w Version) int {
	if c := cmp.Compare(v.Major, w.Major); c != 0 {
		return c
	}
	if c := cmp.Compare(v.Minor, w.Minor); c != 0 {
		return c
	}
	if c := cmp.Compare(v.Patch, w.Patch); c != 0 {
		return c
	}
	// A release outranks its prereleases.
	switch {
	case len(v.Prerelease) == 0 && len(w.Prerelease) == 0:
		return 0
	case len(v.Prerelease) == 0:
		return 1
	case len(w.Prerelease) == 0:
		return -1
	}
	for i := 0; i < len(v.Prerelease) && i < len(w.Prerelease); i++ {
		if c := compareIdentifier(v.Prerelease[i], w.Prerelease[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(v.Prerelease), len(w.Prerelease))
}

// compareIdentifier orders prerelease identifiers: numeric ones
// numerically and below alphanumeric ones, which compare in ASCII order.
func compareIdentifier(a, b string) int {
	an, bn := allDigits(a), allDigits(b)
	switch {
	case an && bn:
		// No leading zeros, so the longer number is the larger; this
		// also works for numbers beyond uint64.
		if c := cmp.Compare(len(a), len(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}
