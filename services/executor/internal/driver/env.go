package driver

import (
	"strconv"

	"github.com/rollwave/rollwave/contracts"
)

// actionEnv is the environment every program of an action receives, exec
// or ssh alike: what it deploys, and the idempotency key.
func actionEnv(a contracts.HostAction, params map[string]string) []string {
	env := []string{
		"ROLLWAVE_HOST=" + a.Host.Name,
		"ROLLWAVE_ADDRESS=" + a.Host.Address,
		"ROLLWAVE_APP=" + a.App,
		"ROLLWAVE_VERSION=" + a.Version,
		"ROLLWAVE_PREVIOUS_VERSION=" + a.PreviousVersion,
		"ROLLWAVE_ROLLOUT=" + a.Rollout,
		"ROLLWAVE_ENVIRONMENT=" + a.Environment,
		// The idempotency key: a redelivery after a crash runs the same
		// action id and attempt again, so a script can detect it.
		"ROLLWAVE_ACTION_ID=" + a.ID,
		"ROLLWAVE_ATTEMPT=" + strconv.Itoa(a.Attempt),
	}
	for _, k := range sortedKeys(params) {
		env = append(env, "ROLLWAVE_PARAM_"+EnvName(k)+"="+params[k])
	}
	return env
}
