package gateway

import (
	"net/http"
	"strconv"
)

// unmatchedRoute labels requests no route matched, so a scan of random
// paths cannot grow the metric's label set.
const unmatchedRoute = "unmatched"

// instrument counts every HTTP request by route pattern and status, and
// times those that are not event streams (a stream lasts as long as its
// client wants). Route patterns, not paths, keep the labels bounded.
//
// The route is the pattern the mux recorded on the request while serving
// it, so the route is looked up once per request, not twice.
func (s *Service) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.clock.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = unmatchedRoute
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.metrics.httpRequests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		if route != eventsRoute {
			s.metrics.httpDuration.WithLabelValues(route).Observe(s.clock.Now().Sub(start).Seconds())
		}
	})
}

// statusWriter records the status written; Unwrap lets
// http.ResponseController reach the connection's Flush for event streams.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
