package gateway

import (
	"context"
	"net/http"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

// DiscoveryStatus asks discovery for the state of its inventory sources.
func (a *natsAPI) DiscoveryStatus(ctx context.Context) (contracts.DiscoveryStatus, error) {
	st, err := natsx.Request[contracts.DiscoveryStatus](ctx, a.nc, contracts.APIDiscoveryStatus, contracts.DiscoveryStatusQuery{})
	if st.Sources == nil {
		st.Sources = []contracts.SourceStatus{}
	}
	return st, err
}

// decodeNothing accepts a request that takes no input; a query string is
// refused so that a typo is not silently ignored.
func decodeNothing(_ http.ResponseWriter, r *http.Request) (any, error) {
	for k := range r.URL.Query() {
		return nil, contracts.Invalid(k, "is not a parameter of this operation")
	}
	return nil, nil
}
