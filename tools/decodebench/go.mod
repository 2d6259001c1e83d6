module github.com/rollwave/rollwave/tools/decodebench

go 1.26

require (
	github.com/go-json-experiment/json v1.27.2
	github.com/rollwave/rollwave/contracts v0.0.0
)

replace github.com/rollwave/rollwave/contracts => ../../contracts
