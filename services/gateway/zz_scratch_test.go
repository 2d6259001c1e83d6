package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestScratchReadTimeout(t *testing.T) {
	h := start(t)
	ts := httptest.NewUnstartedServer(h.gw.Handler())
	ts.Config.ReadTimeout = 200 * time.Millisecond
	ts.Start()
	defer ts.Close()
	h.base = ts.URL
	s := h.events("")
	_ = s.next(true)
	time.Sleep(600 * time.Millisecond)
	h.publishEvent("a", "b", contracts.EventStarted, 1)
	f := s.next(false)
	t.Log(f)
	_ = http.StatusOK
}
