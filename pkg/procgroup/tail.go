package procgroup

import (
	"sync"
	"unicode/utf8"
)

// Tail keeps the last Max bytes written to it: a program's output may be
// endless, the memory it takes here is not.
type Tail struct {
	mu    sync.Mutex
	buf   []byte
	start int // index of the oldest byte once the buffer is full
	full  bool
	max   int
	total int64
}

// NewTail returns a buffer that keeps the last max bytes.
func NewTail(max int) *Tail {
	if max < 0 {
		max = 0
	}
	return &Tail{buf: make([]byte, 0, max), max: max}
}

// Write never fails, so a chatty program is never blocked or killed by it.
func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	t.total += int64(n)
	if t.max == 0 {
		return n, nil
	}
	if len(p) >= t.max {
		p = p[len(p)-t.max:]
		t.buf = append(t.buf[:0], p...)
		t.start, t.full = 0, true
		return n, nil
	}
	if !t.full {
		room := t.max - len(t.buf)
		if len(p) <= room {
			t.buf = append(t.buf, p...)
			t.full = len(t.buf) == t.max
			return n, nil
		}
		t.buf = append(t.buf, p[:room]...)
		p = p[room:]
		t.full = true
	}
	for len(p) > 0 {
		c := copy(t.buf[t.start:], p)
		p = p[c:]
		t.start = (t.start + c) % t.max
	}
	return n, nil
}

// String returns the kept bytes, oldest first, starting at a character
// boundary when the front was cut off.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]byte, 0, len(t.buf))
	out = append(out, t.buf[t.start:]...)
	out = append(out, t.buf[:t.start]...)
	if t.total > int64(len(out)) {
		for i := 0; i < len(out) && i < utf8.UTFMax; i++ {
			if utf8.RuneStart(out[i]) {
				out = out[i:]
				break
			}
		}
	}
	return string(out)
}

// Total is how many bytes were written in all.
func (t *Tail) Total() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}
