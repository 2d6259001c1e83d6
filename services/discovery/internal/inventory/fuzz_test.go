package inventory

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		sample,
		"",
		"environments: []",
		"environments: [{name: qa, hosts: [{name: a, address: b}]}]",
		"environments: [{name: qa, hosts: [{name: a, address: '127.0.0.1:1;touch x'}, {name: b, address: '[::1]:22'}]}]",
		"environments: [{name: qa, driver: {sim: {median: 1s, fail_hosts: [a]}}}]",
		"environments: [{name: qa, driver: {exec: {command: [x, '{{.Host.Name}}'], env: {A: b}}}}]",
		"environments: [{name: qa, allow_request_commands: true, procedures: {d: {driver: {exec: {command: [x]}}, apps: [web]}}}]",
		"environments: [{name: qa, allow_request_params: [a, b.c]}, {name: prod, allow_request_params: true}]",
		"environments: [{name: qa, procedures: {lb: {driver: {sim: {}}, traffic: {exec: {command: [lb, \"{{.Target}}\"]}}}}}]",
		"environments: [{name: qa, procedures: {lb: {driver: {agent: {}}, before_host: [{haproxy: {socket: /s, backend: web, server: '{{.Host.Name}}', state: drain, wait_sessions: 30s}}], after_host: [{haproxy: {socket: '127.0.0.1:9', backend: web, server: x, weight: 3}}]}}}]",
		"environments: [{name: qa, applications: {web: {groups: [g], labels: {a: b}, hosts: [h]}}, hosts: [{name: h, address: x, groups: [g]}]}]",
		"environments: &e [{name: qa, hosts: *e}]",
		"environments:\n  - &x {name: qa, <<: *x}\n",
		"environments: [{name: qa, params: {a: 1, b: true, c: ~}}]",
		"a: &a [*a, *a]\n",
		"--- {}\n--- {}\n",
		"environments: [{name: qa, position: 0x10}]",
		"environments: [{name: qa, checks: {db: {tcp: {address: 'a:1', timeout: 2s}}, s: {command: {command: [x, '{{.Host.Name}}']}}, p: {prometheus: {url: 'http://p', query: up, op: '>=', threshold: 1}}}}]",
		"lifecycle: [qa, prod]\napp_lifecycles: {web: [prod], docs: []}\nenvironments: [{name: qa}, {name: prod}]",
		"lifecycle: [qa, qa, nope, '', [x]]\napp_lifecycles: {Web: x}\nenvironments: [{name: qa}]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := Parse(b)
		if err != nil {
			var fe contracts.FieldErrors
			if !errors.As(err, &fe) || len(fe) == 0 {
				t.Fatalf("error is not FieldErrors: %v", err)
			}
			for _, e := range fe {
				if e.Field == "" || e.Message == "" {
					t.Fatalf("problem without field or message: %+v", e)
				}
			}
			return
		}
		if len(inv.Environments) == 0 {
			t.Fatal("parsed an inventory without environments")
		}
		for _, env := range inv.Environments {
			if !contracts.ValidToken(env.Name) {
				t.Fatalf("invalid environment name %q", env.Name)
			}
			if !slices.IsSortedFunc(env.Hosts, func(a, b contracts.Host) int {
				if a.Name < b.Name {
					return -1
				}
				if a.Name > b.Name {
					return 1
				}
				return 0
			}) {
				t.Fatal("hosts not sorted")
			}
			for _, h := range env.Hosts {
				if hostNameProblem(h.Name) != "" || contracts.AddressProblem(h.Address) != "" || !contracts.ValidToken(h.Pool) {
					t.Fatalf("invalid host accepted: %+v", h)
				}
				if h.Driver != nil && h.Driver.Name() == "" {
					t.Fatalf("driver without a variant: %+v", h)
				}
			}
			if _, err := json.Marshal(env.Contract()); err != nil {
				t.Fatalf("environment does not encode: %v", err)
			}
		}
	})
}
