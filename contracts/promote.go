package contracts

// PromoteRequest asks to deploy a release that completed somewhere to
// another environment with the spec of its last completed rollout: the
// same phases, batches, checks and procedure, with the target
// environment's hosts. It goes through the same checks as any request,
// the lifecycle included.
type PromoteRequest struct {
	App     string `json:"app"`
	Version string `json:"version"`
	// To is the target environment.
	To string `json:"to"`
	// ID is the new rollout's id; the gateway makes one when it is empty.
	ID          string    `json:"id,omitempty"`
	RequestedBy string    `json:"requested_by,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Override    *Override `json:"override,omitempty"`
}

// Validate checks the request; errors name the field.
func (p PromoteRequest) Validate() error {
	var fe FieldErrors
	switch {
	case p.App == "":
		fe.Add("app", "is required")
	case !appName.MatchString(p.App):
		fe.Add("app", "must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", clip(p.App))
	}
	if err := CheckVersion("version", p.Version); err != nil {
		fe.Add("version", "%s", messageOf(err))
	}
	token(&fe, "to", p.To)
	if p.ID != "" {
		token(&fe, "id", p.ID)
	}
	p.Override.validate(&fe, "override")
	return fe.Err()
}

// PromoteReply is the planner's answer: the request it derived and the
// rollout whose spec it reuses, or the reasons the planner would reject
// it (Reasons; the request is then not to be sent).
type PromoteReply struct {
	Request         DeployRequest `json:"request"`
	From            string        `json:"from"`
	FromEnvironment string        `json:"from_environment"`
	Reasons         []FieldError  `json:"reasons,omitempty"`
}
