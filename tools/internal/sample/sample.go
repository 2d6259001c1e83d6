// Package sample writes the sample inventory and rollout specs that
// `rollwave dev` starts with: three environments and 22 hosts, most of them
// simulated and a few real local processes deployed with the exec driver.
package sample

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"text/template"
)

// Files lays out the sample in dataDir: inventory.yaml and examples/*.yaml.
// Existing files are kept, so an edited inventory survives restarts.
// exe is the rollwave binary the exec hosts run.
func Files(dataDir, exe string) (inventory string, examples []string, err error) {
	inventory = filepath.Join(dataDir, "inventory.yaml")
	inv, err := Inventory(dataDir, exe)
	if err != nil {
		return "", nil, err
	}
	if err := writeNew(inventory, inv); err != nil {
		return "", nil, err
	}
	for name, body := range specs {
		p := filepath.Join(dataDir, "examples", name)
		if err := writeNew(p, []byte(body)); err != nil {
			return "", nil, err
		}
		examples = append(examples, p)
	}
	return inventory, examples, nil
}

// LocalHosts is the number of sample-app hosts, each with its own port.
const LocalHosts = 5

// Inventory renders the sample inventory. The local hosts get ports that
// are free now, so that two checkouts running `rollwave dev` side by side
// do not collide; they are written into the inventory, which is kept, so
// they stay the same across restarts.
func Inventory(dataDir, exe string) ([]byte, error) {
	ports, err := FreePorts(LocalHosts)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = inventoryTmpl.Execute(&b, map[string]any{
		"Exe":   strconv.Quote(exe),
		"Apps":  filepath.Join(dataDir, "apps"),
		"Ports": ports,
	})
	return b.Bytes(), err
}

// FreePorts returns n distinct loopback TCP ports that are free now: all n
// listeners are held until each has its port, so none is handed out twice.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port for a sample app: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeNew(path string, b []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// The exec hosts run `rollwave sample-app deploy`, which replaces a local
// web process and waits until it serves the new version.
var inventoryTmpl = template.Must(template.New("inventory").Delims("<%", "%>").Parse(`# Rollwave sample inventory: 3 environments, 22 hosts.
# Hosts with the exec driver are real local processes (see examples/local-qa.yaml),
# on ports that were free when this file was written.
environments:
  - name: qa
    position: 1
    params: {region: local}
    driver: {sim: {median: 150ms, p99: 900ms, failure_rate: 0.01}}
    # Requests carry no commands: they name one of these procedures
    # ("procedure: sample-app") and pass params. allow_request_commands: true
    # would let a request bring its own exec driver; it is off everywhere here.
    # Which hosts run which application: a rollout of web never touches
    # the local hosts, and one of hello touches nothing else.
    applications:
      web: {groups: [web]}
      hello: {groups: [local]}
    procedures:
      sample-app:
        apps: [hello]
        driver: &local
          exec:
            command: [<%.Exe%>, sample-app, deploy, --dir, "<%.Apps%>/{{.Environment}}/{{.Host.Name}}", --addr, "{{.Host.Address}}", --version, "{{.Version}}"]
            timeout: 30s
        # The blue-green switch (examples/blue-green.yaml): records where
        # the sample's traffic goes, as a load balancer's API would.
        traffic:
          exec:
            command: [<%.Exe%>, sample-app, route, --dir, "<%.Apps%>/{{.Environment}}/router", --target, "{{.Target}}"]
            timeout: 10s
    hosts:
      - {name: qa-web-01, address: 10.0.1.11:8080, groups: [web]}
      - {name: qa-web-02, address: 10.0.1.12:8080, groups: [web]}
      - {name: qa-web-03, address: 10.0.1.13:8080, groups: [web]}
      - {name: qa-web-04, address: 10.0.1.14:8080, groups: [web]}
      - {name: qa-local-01, address: 127.0.0.1:<%index .Ports 0%>, groups: [local], params: {port: "<%index .Ports 0%>"}, labels: {color: blue}, driver: *local}
      - {name: qa-local-02, address: 127.0.0.1:<%index .Ports 1%>, groups: [local], params: {port: "<%index .Ports 1%>"}, labels: {color: blue}, driver: *local}
      - {name: qa-local-03, address: 127.0.0.1:<%index .Ports 2%>, groups: [local], params: {port: "<%index .Ports 2%>"}, labels: {color: green}, driver: *local}
  - name: staging
    position: 2
    params: {region: eu-west}
    driver: {sim: {median: 200ms, p99: 1s, failure_rate: 0.01}}
    applications:
      web: {groups: [web]}
      hello: {groups: [local]}
    procedures:
      sample-app: {apps: [hello], driver: *local}
    hosts:
      - {name: stg-web-01, address: 10.0.2.11:8080, groups: [web, east], labels: {zone: a}}
      - {name: stg-web-02, address: 10.0.2.12:8080, groups: [web, east], labels: {zone: b}}
      - {name: stg-web-03, address: 10.0.2.13:8080, groups: [web, west], labels: {zone: a}}
      - {name: stg-web-04, address: 10.0.2.14:8080, groups: [web, west], labels: {zone: b}}
      - {name: stg-local-01, address: 127.0.0.1:<%index .Ports 3%>, groups: [local], params: {port: "<%index .Ports 3%>"}, driver: *local}
      - {name: stg-local-02, address: 127.0.0.1:<%index .Ports 4%>, groups: [local], params: {port: "<%index .Ports 4%>"}, driver: *local}
  - name: production
    position: 3
    params: {region: eu-west}
    driver: {sim: {median: 300ms, p99: 2s, failure_rate: 0.005}}
    applications:
      web: {groups: [web]}
      api: {groups: [api]}
    hosts:
      - {name: prod-web-01, address: 10.0.3.11:8080, groups: [web, east], labels: {zone: a}}
      - {name: prod-web-02, address: 10.0.3.12:8080, groups: [web, east], labels: {zone: b}}
      - {name: prod-web-03, address: 10.0.3.13:8080, groups: [web, east], labels: {zone: c}}
      - {name: prod-web-04, address: 10.0.3.14:8080, groups: [web, east], labels: {zone: a}}
      - {name: prod-web-05, address: 10.0.3.15:8080, groups: [web, west], labels: {zone: b}}
      - {name: prod-web-06, address: 10.0.3.16:8080, groups: [web, west], labels: {zone: c}}
      - {name: prod-web-07, address: 10.0.3.17:8080, groups: [web, west], labels: {zone: a}}
      - {name: prod-web-08, address: 10.0.3.18:8080, groups: [web, west], labels: {zone: b}}
      - {name: prod-api-01, address: 10.0.3.21:9090, groups: [api], labels: {zone: a}}
`))

var specs = map[string]string{
	"local-qa.yaml": `# Deploys the sample web app to the real local processes of qa, one
# canary first, then the rest two at a time, checking /healthz on each.
app: hello
version: 1.1.0
environment: qa
# The operator-defined procedure of qa's inventory deploys each host.
procedure: sample-app
phases:
  - name: canary
    hosts: [qa-local-01]
    checks: [healthz]
  - name: rest
    selector: {group: local}
    batch: 2
    checks: [healthz]
checks:
  healthz:
    http: {url: "http://{{.Host.Address}}/healthz", status: 200, consecutive: 2, interval: 200ms, timeout: 2s}
`,
	"rolling.yaml": `# strategy rolling on qa's real local processes: a canary host, a bake
# (wait step) and a gate that approves itself after 10s unless someone
# rejects it (rollwave reject ID -m why), then the rest two at a time.
# A failure rolls every changed host back to the version it ran before.
app: hello
version: 1.1.0
environment: qa
procedure: sample-app
action_timeout: 1m
phases:
  - name: canary
    hosts: [qa-local-01]
    checks: [healthz]
  - name: bake
    wait: 5s
  - name: sign-off
    gate: {timeout: 10s, on_timeout: approve}
  - name: rest
    batch: 2
    checks: [healthz]
failure: {on_failure: rollback}
checks:
  healthz:
    http: {url: "http://{{.Host.Address}}/healthz", status: 200, consecutive: 2, interval: 200ms, timeout: 2s}
`,
	"canary.yaml": `# strategy canary on qa's real local processes: one host first, then an
# analysis that checks it 3 times, 2s apart (one failed measurement
# tolerated), then the rest two at a time. A failed analysis rolls back.
app: hello
version: 1.2.0
environment: qa
procedure: sample-app
strategy: canary
canary:
  hosts: 1
  analysis: {checks: [healthz], interval: 2s, count: 3, failure_limit: 1}
  promote: auto
  batch: 2
checks:
  healthz:
    http: {url: "http://{{.Host.Address}}/healthz", status: 200, interval: 200ms, timeout: 2s}
`,
	"canary-fails.yaml": `# A canary whose analysis fails: its check wants a status the sample app
# never answers, so the canary host is rolled back by itself to the version
# it ran before (deploy canary.yaml first) and --wait exits non-zero.
app: hello
version: 1.3.0
environment: qa
procedure: sample-app
strategy: canary
canary:
  hosts: 1
  analysis: {checks: [teapot], interval: 1s, count: 3}
checks:
  teapot:
    http: {url: "http://{{.Host.Address}}/healthz", status: 418, timeout: 1s, deadline: 2s}
`,
	"blue-green.yaml": `# strategy blue-green on qa's real local processes, split by the label
# color (qa-local-01 and -02 blue, -03 green): the set not running the live
# version is deployed and checked, the procedure's traffic switch sends
# traffic to it (data/apps/qa/router/active), and the old set is kept for
# 30s, in which 'rollwave rollback ID' switches traffic back without
# redeploying. Deploy it again with another version to flip back.
app: hello
version: 1.4.0
environment: qa
procedure: sample-app
strategy: blue-green
blue_green:
  label: color
  checks: [healthz]
  traffic: {procedure: sample-app}
  keep: 30s
checks:
  healthz:
    http: {url: "http://{{.Host.Address}}/healthz", status: 200, interval: 200ms, timeout: 2s}
`,
	"web-production.yaml": `# A rolling release of web to production in three phases.
app: web
version: 2.4.1
environment: production
phases:
  - name: canary
    hosts: [prod-web-01]
  - name: east
    selector: {group: east}
    batch: 2
  - name: rest
    batch: 50%
failure: {max_failed: 1, on_failure: pause}
`,
	"web-staging.yaml": `# Staging first: every web host, escalating batches.
app: web
version: 2.4.1
environment: staging
phases:
  - name: all
    selector: {group: web}
    batch: [1, 2, "100%"]
`,
}
