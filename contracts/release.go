package contracts

import (
	"fmt"
	"strings"
)

// A release version is what a request deploys: semver ("2.4.1"), a git SHA
// ("3f2a9c1e..."), or an image tag ("2026.11.30-3f2a9c1"). It reaches drivers
// as an argument and travels in subjects' payloads, so its alphabet is
// small: letters, digits and '.', '-', '_', '+', starting with a letter or
// digit (so that it never reads as an option such as "-rf"), at most 128
// characters. Ordering is semver's and is defined only between versions
// that are both semver.

// MaxVersionLen bounds a release version.
const MaxVersionLen = 128

const versionRule = "must be 1-128 letters, digits, '.', '-', '_' or '+', starting with a letter or digit (semver such as \"2.4.1\", a git SHA, or an image tag such as \"2026.11.30-3f2a9c1\")"

// CheckVersion reports whether s may be deployed as a version; field names
// it in the error.
func CheckVersion(field, s string) error {
	switch {
	case s == "":
		return Invalid(field, "is required")
	case len(s) > MaxVersionLen:
		return Invalid(field, "%s; got %d characters", versionRule, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && (i == 0 || c != '.' && c != '-' && c != '_' && c != '+') {
			return Invalid(field, "%s; %q at position %d is not allowed in %q", versionRule, rune(c), i+1, clip(s))
		}
	}
	return nil
}

// CompareVersions orders two release versions by semver precedence. ok is
// false when either is not semver: a git SHA or a tag has no order.
func CompareVersions(a, b string) (c int, ok bool) {
	va, err := ParseVersion(a)
	if err != nil {
		return 0, false
	}
	vb, err := ParseVersion(b)
	if err != nil {
		return 0, false
	}
	return va.Compare(vb), true
}

// Constraint is a set of comparisons that all must hold, such as
// ">=3.2.0 <4.0.0". A bare version means "=".
type Constraint struct {
	terms []constraintTerm
}

type constraintTerm struct {
	op string
	v  Version
}

// ParseConstraint reads a constraint; field names it in errors. Every
// operand must be semver, since ordering is not defined otherwise.
func ParseConstraint(field, s string) (Constraint, error) {
	var c Constraint
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return c, Invalid(field, "is required: comparisons such as \">=3.2.0 <4.0.0\"")
	}
	for _, f := range fields {
		op := ""
		for _, o := range []string{">=", "<=", "!=", ">", "<", "="} {
			if strings.HasPrefix(f, o) {
				op = o
				break
			}
		}
		operand := strings.TrimPrefix(f, op)
		if op == "" {
			op = "="
		}
		v, err := ParseVersion(operand)
		if err != nil {
			return Constraint{}, Invalid(field, "%s: ordering is defined only between semantic versions", messageOf(err))
		}
		c.terms = append(c.terms, constraintTerm{op: op, v: v})
	}
	return c, nil
}

// Allows reports whether version satisfies the constraint. A version that
// is not semver has no order, so a constraint on it is refused, naming
// field, rather than guessed.
func (c Constraint) Allows(field, version string) (bool, error) {
	v, err := ParseVersion(version)
	if err != nil {
		return false, Invalid(field, "a constraint needs a semantic version, and %q is not one: ordering is defined only between semantic versions", clip(version))
	}
	for _, t := range c.terms {
		r := v.Compare(t.v)
		var ok bool
		switch t.op {
		case ">=":
			ok = r >= 0
		case "<=":
			ok = r <= 0
		case ">":
			ok = r > 0
		case "<":
			ok = r < 0
		case "!=":
			ok = r != 0
		default:
			ok = r == 0
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// String writes the constraint back.
func (c Constraint) String() string {
	parts := make([]string, len(c.terms))
	for i, t := range c.terms {
		parts[i] = fmt.Sprintf("%s%s", t.op, t.v)
	}
	return strings.Join(parts, " ")
}
