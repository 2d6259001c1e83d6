module github.com/rollwave/rollwave/contracts

go 1.26
