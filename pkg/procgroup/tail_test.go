package procgroup

import (
	"bytes"
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"fits", 10, []string{"abc", "def"}, "abcdef"},
		{"exactly full", 6, []string{"abc", "def"}, "abcdef"},
		{"wraps", 5, []string{"abc", "def", "gh"}, "defgh"},
		{"one big write", 4, []string{"abcdefgh"}, "efgh"},
		{"many small writes", 3, strings.Split("abcdefghij", ""), "hij"},
		{"zero keeps nothing", 0, []string{"abc"}, ""},
		{"cut at a character boundary", 4, []string{"aé", "bcd"}, "bcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := NewTail(tt.max)
			total := 0
			for _, w := range tt.writes {
				n, err := tl.Write([]byte(w))
				if err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
				total += n
			}
			if got := tl.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			if tl.Total() != int64(total) {
				t.Fatalf("Total() = %d, want %d", tl.Total(), total)
			}
		})
	}
}

// FuzzTail compares the ring buffer with the plain definition: the last
// max bytes of everything written.
func FuzzTail(f *testing.F) {
	f.Add(5, []byte("hello world"), 3)
	f.Add(1, []byte("ab"), 1)
	f.Fuzz(func(t *testing.T, size int, data []byte, chunk int) {
		size %= 64
		if size < 0 {
			size = -size
		}
		size++
		if chunk < 1 {
			chunk = 1
		}
		tl := NewTail(size)
		for i := 0; i < len(data); i += chunk {
			tl.Write(data[i:min(i+chunk, len(data))])
		}
		want := data[max(0, len(data)-size):]
		got := tl.String()
		if !bytes.HasSuffix(want, []byte(got)) || len(want)-len(got) > 3 {
			t.Fatalf("tail of %q (size %d) = %q", data, size, got)
		}
	})
}
