package store

import (
	"fmt"
	"strconv"
	"strings"
)

// formatRunOrder stores a rollout's run order as comma-separated step
// indexes; plan order (nil) is "".
func formatRunOrder(order []int) string {
	if len(order) == 0 {
		return ""
	}
	parts := make([]string, len(order))
	for i, p := range order {
		parts[i] = strconv.Itoa(p)
	}
	return strings.Join(parts, ",")
}

// parseRunOrder reads a stored run order back: a permutation of the n
// step indexes, or "" for plan order.
func parseRunOrder(s string, n int) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("%d steps for a plan of %d", len(parts), n)
	}
	order := make([]int, n)
	seen := make([]bool, n)
	for i, part := range parts {
		p, err := strconv.Atoi(part)
		if err != nil || p < 0 || p >= n || seen[p] {
			return nil, fmt.Errorf("%q is not a permutation of %d steps", s, n)
		}
		seen[p] = true
		order[i] = p
	}
	return order, nil
}
