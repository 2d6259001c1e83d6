package check

import (
	"context"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/render"
)

// Runner runs a check of any kind for a host action.
type Runner struct {
	HTTP       HTTP
	TCP        TCP
	Command    Command
	Prometheus Prometheus
	NATS       NATS
}

// Run renders c's templates against a and runs it. field is the check's
// path in the action ("checks[0].spec"), so that a problem names the field.
// It never returns an error: a check that cannot run has failed.
func (r Runner) Run(ctx context.Context, field string, c contracts.NamedCheck, a contracts.HostAction) contracts.CheckResult {
	failed := func(err error) contracts.CheckResult {
		return contracts.CheckResult{Name: c.Name, Status: contracts.ResultFailed, Error: err.Error()}
	}
	spec, d := c.Spec, render.DataOf(a)
	switch spec.Kind() {
	case "http":
		settings, err := Settings(field+".http", *spec.HTTP)
		if err != nil {
			return failed(err)
		}
		u, err := render.String(field+".http.url", spec.HTTP.URL, d)
		if err != nil {
			return failed(err)
		}
		return r.HTTP.Run(ctx, c.Name, u, settings)
	case "tcp":
		p, err := TCPSettings(field+".tcp", *spec.TCP)
		if err != nil {
			return failed(err)
		}
		addr, err := render.String(field+".tcp.address", spec.TCP.Address, d)
		if err != nil {
			return failed(err)
		}
		return r.TCP.Run(ctx, c.Name, addr, p)
	case "command":
		p, err := CommandSettings(field+".command", *spec.Command)
		if err != nil {
			return failed(err)
		}
		argv, err := Argv(field+".command", *spec.Command, d)
		if err != nil {
			return failed(err)
		}
		return r.Command.Run(ctx, c.Name, argv, a, p)
	case "prometheus":
		ps := spec.Prometheus
		p, err := PrometheusSettings(field+".prometheus", *ps)
		if err != nil {
			return failed(err)
		}
		if fe := spec.Validate(field); len(fe) > 0 {
			return failed(fe)
		}
		base, err := render.String(field+".prometheus.url", ps.URL, d)
		if err != nil {
			return failed(err)
		}
		query, err := render.String(field+".prometheus.query", ps.Query, d)
		if err != nil {
			return failed(err)
		}
		return r.Prometheus.Run(ctx, c.Name, base, query, ps.Op, *ps.Threshold, p)
	case "nats":
		p, err := NATSSettings(field+".nats", *spec.NATS)
		if err != nil {
			return failed(err)
		}
		subject, err := render.String(field+".nats.subject", spec.NATS.Subject, d)
		if err != nil {
			return failed(err)
		}
		return r.NATS.Run(ctx, c.Name, subject, a, p)
	}
	return failed(contracts.Invalid(field, "must set exactly one of: http, tcp, command, prometheus, nats"))
}
