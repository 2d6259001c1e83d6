package inventory

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rollwave/rollwave/contracts"
)

// Source is a discovery source of an environment: an Ansible INI file or
// an executable dynamic-inventory script, run every Interval with a
// Timeout. Zero values mean the service's defaults.
type Source struct {
	Path     string
	Interval time.Duration
	Timeout  time.Duration
}

// maxSourceDuration bounds a source's interval and timeout to something a
// person means.
const maxSourceDuration = 24 * time.Hour

// sources reads an environment's optional list of sources:
//
//	sources:
//	  - {path: ./hosts.ini, interval: 1m, timeout: 10s}
func (p *parser) sources(path string, n *yaml.Node) []Source {
	var out []Source
	for i, item := range p.sequence(path, n) {
		sp := index(path, i)
		f, ok := p.fields(sp, item, "path", "interval", "timeout")
		if !ok {
			continue
		}
		s := Source{Path: p.str(sp, item, f, "path", true)}
		if s.Path == "" && emptyString(f, "path") {
			p.fail(join(sp, "path"), f["path"].val, "must not be empty")
		}
		s.Interval = p.duration(join(sp, "interval"), f, "interval")
		s.Timeout = p.duration(join(sp, "timeout"), f, "timeout")
		out = append(out, s)
	}
	return out
}

func (p *parser) duration(path string, f map[string]entry, key string) time.Duration {
	e, ok := f[key]
	if !ok || isNull(e.val) {
		return 0
	}
	s := p.scalar(path, e.val)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > maxSourceDuration {
		p.fail(path, e.val, "must be a positive duration up to 24h such as 30s or 5m, got %q", s)
		return 0
	}
	return d
}

// WithSourceHosts returns the environment with hosts from its sources
// added to the hosts it lists itself, checked as the YAML inventory's are
// and with the environment's defaults resolved. Any problem refuses the
// whole set, so a bad source output is never half-applied.
func (e Environment) WithSourceHosts(hosts []contracts.Host) (Environment, error) {
	out := e
	out.Hosts = slices.Clone(e.Hosts)
	seen := map[string]bool{}
	for _, h := range e.Hosts {
		seen[strings.ToLower(h.Name)] = true
	}
	var added []contracts.Host
	for _, h := range hosts {
		if err := CheckHost(h); err != nil {
			return Environment{}, err
		}
		key := strings.ToLower(h.Name)
		if seen[key] {
			return Environment{}, fmt.Errorf("host %q is listed twice in environment %q", h.Name, e.Name)
		}
		seen[key] = true
		added = append(added, h)
	}
	tmp := Environment{Name: e.Name, Params: e.Params, Pool: e.Pool, Driver: e.Driver, Hosts: added}
	resolve(&tmp)
	out.Hosts = append(out.Hosts, tmp.Hosts...)
	slices.SortFunc(out.Hosts, func(a, b contracts.Host) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// CheckHost checks a host from outside the YAML inventory as the YAML
// inventory's hosts are checked: its name, address and groups.
func CheckHost(h contracts.Host) error {
	if problem := hostNameProblem(h.Name); problem != "" {
		return fmt.Errorf("host %q: name %s", h.Name, problem)
	}
	if problem := addressProblem(h.Address); problem != "" {
		return fmt.Errorf("host %q: address %s", h.Name, problem)
	}
	for _, g := range h.Groups {
		if !contracts.ValidToken(g) {
			return fmt.Errorf("host %q: group %q is not a valid name", h.Name, g)
		}
	}
	return nil
}
