module github.com/rollwave/rollwave/services

go 1.26

require (
	github.com/rollwave/rollwave/contracts v0.0.0
	github.com/rollwave/rollwave/pkg v0.0.0
)

replace (
	github.com/rollwave/rollwave/contracts => ../contracts
	github.com/rollwave/rollwave/pkg => ../pkg
)
