package contracts

// Procedure is an operator-defined way to deploy, named in the inventory of
// an environment. Commands belong to the operators: a request picks a
// procedure by name and passes params, which the procedure's templates read
// ({{index .Params "key"}}), rather than carrying a command of its own.
type Procedure struct {
	Driver DriverSpec `json:"driver"`
	// Apps, when set, are the only applications that may use the procedure.
	Apps []string `json:"apps,omitempty"`
	// Traffic, when set, switches traffic for blue-green rollouts that
	// name the procedure: argv templates ({{.Target}} is the set traffic
	// goes to), run without a shell.
	Traffic *ExecDriver `json:"traffic,omitempty"`
	// BeforeHost and AfterHost run around each host's deploy, such as
	// draining it from a load balancer and re-enabling it (HostHooks).
	BeforeHost []HostHook `json:"before_host,omitempty"`
	AfterHost  []HostHook `json:"after_host,omitempty"`
}

// Hooks returns the procedure's hooks, or nil when it has none.
func (p Procedure) Hooks() *HostHooks {
	if len(p.BeforeHost)+len(p.AfterHost) == 0 {
		return nil
	}
	return &HostHooks{Before: p.BeforeHost, After: p.AfterHost}
}

// Validate checks a procedure; field is its path, such as
// "environments[0].procedures.deploy".
func (p Procedure) Validate(field string) FieldErrors {
	fe := p.Driver.Validate(field + ".driver")
	if p.Traffic != nil {
		fe = append(fe, DriverSpec{Exec: p.Traffic}.Validate(field+".traffic")...)
	}
	fe = append(fe, ValidateHooks(field+".before_host", p.BeforeHost)...)
	fe = append(fe, ValidateHooks(field+".after_host", p.AfterHost)...)
	for i, a := range p.Apps {
		if !appName.MatchString(a) {
			fe.Add(IndexPath(field+".apps", i), "must be an application name: 1-63 lower-case letters, digits, '.', '_' or '-', got %q", clip(a))
		}
	}
	return fe
}

// RequestCommandField names the part of a driver that runs a command of the
// requester's choosing, or returns "" when it runs none. The simulated
// driver runs nothing and stays allowed.
func RequestCommandField(d *DriverSpec) string {
	switch {
	case d == nil:
	case d.Exec != nil:
		return "driver.exec.command"
	case d.SSH != nil:
		return "driver.ssh.command"
	}
	return ""
}
