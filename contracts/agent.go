package contracts

import "strings"

// Artifacts and host agents.
//
// Artifacts live in the JetStream Object Store bucket ArtifactsBucket, one
// object per release, named ArtifactName(app, version). The publisher
// records the SHA-256 of the content in the object's metadata under
// ArtifactDigestKey (lower-case hex); agents refuse content that does not
// hash to it.
const (
	ArtifactsBucket = "rollwave-artifacts"
	// ArtifactDigestKey is the metadata key of the content's SHA-256.
	ArtifactDigestKey = "rollwave-sha256"
	// ArtifactAppKey and ArtifactVersionKey repeat the name's parts.
	ArtifactAppKey     = "rollwave-app"
	ArtifactVersionKey = "rollwave-version"
)

// CheckApp reports whether s may name an application; field names it in
// the error.
func CheckApp(field, s string) error {
	if !appName.MatchString(s) {
		return Invalid(field, "must be 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, got %q", clip(s))
	}
	return nil
}

// ArtifactName is the object name of the artifact of app at version.
func ArtifactName(app, version string) string { return app + "/" + version }

// ParseArtifactName splits an object name made by ArtifactName.
func ParseArtifactName(name string) (app, version string, err error) {
	app, version, ok := strings.Cut(name, "/")
	if !ok {
		return "", "", Invalid("name", "artifact name must be <app>/<version>, got %q", clip(name))
	}
	if err := CheckApp("app", app); err != nil {
		return "", "", err
	}
	if err := CheckVersion("version", version); err != nil {
		return "", "", err
	}
	return app, version, nil
}

// AgentDriver deploys through the host's own agent (rollwave agent): it
// fetches the artifact of the action's app and version, unpacks it into
// releases/<version>, switches current and runs the commands the agent was
// configured with. The action carries no command.
type AgentDriver struct {
	// Timeout bounds the whole action on the agent, including retries
	// while the agent cannot be reached (default 10m).
	Timeout Duration `json:"timeout,omitempty"`
}

// HostToken turns a host name into one subject token: host names hold
// letters, digits, '-' and '.', and never '_', so mapping '.' to '_' (and
// folding case, as host names are case-insensitive) is one-to-one.
func HostToken(host string) string {
	return strings.ReplaceAll(strings.ToLower(host), ".", "_")
}

// AgentActSubject is where the agent of host in env serves host actions,
// request/reply: the request is a host action envelope (TypeHostAction),
// the reply an AgentActResult envelope.
func AgentActSubject(env, host string) string {
	return "rollwave.agent." + env + "." + HostToken(host) + ".act"
}

// TypeAgentActResult is the envelope type id of an agent's reply.
const TypeAgentActResult = "io.rollwave.agent.act_result.v1"

// AgentActResult is an agent's answer to a host action. The executor
// decodes it tolerantly.
type AgentActResult struct {
	ActionID string       `json:"action_id"`
	Status   ResultStatus `json:"status"`
	Error    string       `json:"error,omitempty"`
	ExitCode *int         `json:"exit_code,omitempty"`
	Output   string       `json:"output,omitempty"`
	// Installed says current points at the action's version.
	Installed bool `json:"installed,omitempty"`
	// Replayed says the result comes from the agent's journal: the
	// action had completed before and nothing was done again.
	Replayed bool `json:"replayed,omitempty"`
	// Downloaded says the artifact was fetched; false for a switch back
	// to a kept release.
	Downloaded bool `json:"downloaded,omitempty"`
}

// Validate checks the fields the executor relies on.
func (r AgentActResult) Validate() error {
	var fe FieldErrors
	required(&fe, "action_id", r.ActionID)
	validStatus(&fe, "status", r.Status)
	return fe.Err()
}

// CheckHostName reports whether h may name a host; field names it in the
// error.
func CheckHostName(field, h string) error {
	if msg := hostNameProblem(h); msg != "" {
		return Invalid(field, "%s", msg)
	}
	return nil
}
