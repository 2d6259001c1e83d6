package plan

import (
	"maps"
	"slices"

	"github.com/rollwave/rollwave/contracts"
)

// RequestParams checks the request's own params against what the
// environment allows. They are the highest layer of a host's parameters
// (environment < groups < host < request) and reach the operators'
// templates, so an environment takes them only when its inventory says
// so: allow_request_params true for every name, or a list of names.
// Each refused name is a field error on params.<name>.
func RequestParams(req contracts.DeployRequest, env contracts.Environment) contracts.FieldErrors {
	if len(req.Params) == 0 || env.AllowRequestParams {
		return nil
	}
	var problems contracts.FieldErrors
	for _, k := range slices.Sorted(maps.Keys(req.Params)) {
		if slices.Contains(env.AllowedRequestParams, k) {
			continue
		}
		if len(env.AllowedRequestParams) == 0 {
			problems.Add(contracts.KeyPath("params", k), "environment %q does not take params from requests (its inventory sets no allow_request_params)", env.Name)
			continue
		}
		problems.Add(contracts.KeyPath("params", k), "environment %q takes only these params from requests: %v", env.Name, env.AllowedRequestParams)
	}
	return problems
}
