// Package buildinfo describes the running binary from the build information
// the Go toolchain embeds, for `rollwave version` and the build_info metric.
package buildinfo

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Info names a build: the module version and, when built in a checkout, the
// commit.
type Info struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Time     string `json:"commit_time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// Read returns the running binary's build.
func Read() Info {
	v := Info{Version: "(unknown)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Version, v.Go = bi.Main.Version, bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one-line form: version (commit, modified, time) go version.
func (v Info) String() string {
	s := v.Version
	if v.Commit != "" {
		s += " (" + v.ShortCommit()
		if v.Modified {
			s += ", modified"
		}
		if v.Time != "" {
			s += ", " + v.Time
		}
		s += ")"
	}
	return s + " " + v.Go
}

// ShortCommit is the commit's first 12 hex digits.
func (v Info) ShortCommit() string {
	if len(v.Commit) > 12 {
		return v.Commit[:12]
	}
	return v.Commit
}

// Collector is rollwave_build_info: always 1, labelled with the build, so a
// dashboard shows which build each process runs.
func (v Info) Collector() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rollwave_build_info",
		Help: "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{
			"version": v.Version, "revision": v.ShortCommit(), "goversion": v.Go,
		},
	})
	g.Set(1)
	return g
}
