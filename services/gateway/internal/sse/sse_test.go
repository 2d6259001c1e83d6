package sse

import "testing"

func TestEvent(t *testing.T) {
	tests := []struct {
		name string
		id   uint64
		ev   string
		data string
		want string
	}{
		{"one line", 7, "started", `{"a":1}`, "id: 7\nevent: started\ndata: {\"a\":1}\n\n"},
		{"JSON over lines is compacted", 8, "planned", "{\n  \"a\": [1,\n 2]\n}", "id: 8\nevent: planned\ndata: {\"a\":[1,2]}\n\n"},
		{"text over lines is split", 9, "x", "a\r\nb\rc\nd", "id: 9\nevent: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"no name", 1, "", "x", "id: 1\ndata: x\n\n"},
		{"name cannot break the frame", 2, "a\nb", "x", "id: 2\nevent: a b\ndata: x\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Event(tt.id, tt.ev, []byte(tt.data))); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCommentAndHello(t *testing.T) {
	if got := string(Comment("heart\nbeat")); got != ": heart beat\n\n" {
		t.Fatalf("comment = %q", got)
	}
	if got := string(Hello(1500, "hi\nthere")); got != "retry: 1500\n: hi there\n\n" {
		t.Fatalf("hello = %q", got)
	}
}
