package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterSharesCollectorsByName(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "rollwave_test_total", Help: "test"}
	first, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil || second != first {
		t.Fatalf("second registration got %v, %v; want the first collector", second, err)
	}
	// Same name, other type: refused, and Shared keeps the new one working.
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "rollwave_test_total", Help: "test"})
	if _, err := Register(reg, gauge); err == nil {
		t.Fatal("a conflicting collector was accepted")
	}
	if got := Shared(reg, gauge); got != gauge {
		t.Fatal("Shared did not return the collector it was given")
	}
}
