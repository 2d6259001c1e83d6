package contracts

// OfflinePolicy says what a plan does with target hosts that discovery
// reports offline (their agent has gone silent).
type OfflinePolicy string

const (
	// OfflineFail refuses the plan, naming each offline host. The default:
	// a host left out silently would keep running the old version.
	OfflineFail OfflinePolicy = "fail"
	// OfflineExclude leaves offline hosts out of the plan.
	OfflineExclude OfflinePolicy = "exclude"
)

func (p OfflinePolicy) validate(fe *FieldErrors, field string) {
	switch p {
	case "", OfflineFail, OfflineExclude:
	default:
		fe.Add(field, "must be %q or %q, got %q", OfflineFail, OfflineExclude, clip(string(p)))
	}
}
