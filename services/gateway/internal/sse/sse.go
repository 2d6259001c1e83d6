// Package sse writes Server-Sent Events frames
// (https://html.spec.whatwg.org/multipage/server-sent-events.html).
package sse

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Event returns one frame: "id: <id>\nevent: <name>\ndata: <data>\n\n".
// Data that spans lines is compacted when it is JSON and otherwise sent as
// several data lines, which a client joins back with newlines; a raw
// newline inside one data line would end the field early.
func Event(id uint64, name string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("id: ")
	b.WriteString(strconv.FormatUint(id, 10))
	b.WriteByte('\n')
	if name = oneLine(name); name != "" {
		b.WriteString("event: ")
		b.WriteString(name)
		b.WriteByte('\n')
	}
	if bytes.ContainsAny(data, "\r\n") {
		var compact bytes.Buffer
		if json.Compact(&compact, data) == nil {
			data = compact.Bytes()
		}
	}
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n"), "\n")
	for _, line := range lines {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// Comment returns a comment frame, which clients ignore; it keeps idle
// connections (and the proxies between) from timing out.
func Comment(text string) []byte { return []byte(": " + oneLine(text) + "\n\n") }

// Hello returns the first frame of a stream: how long the client should
// wait, in milliseconds, before reconnecting, and a comment.
func Hello(retryMillis int, text string) []byte {
	return []byte("retry: " + strconv.Itoa(retryMillis) + "\n: " + oneLine(text) + "\n\n")
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
