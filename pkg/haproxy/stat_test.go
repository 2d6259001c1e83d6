package haproxy

import (
	"strings"
	"testing"
)

const statHeader = "# pxname,svname,qcur,scur,status,weight,\n"

func TestParseStat(t *testing.T) {
	got, err := ParseStat(statHeader +
		"web,FRONTEND,,3,OPEN,,\n" +
		"web,s1,0,2,UP,10,\n" +
		"web,s2,0,0,DRAIN,0,\n" +
		"web,BACKEND,0,2,UP,10,\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []ServerStat{{"web", "s1", 2, "UP", 10}, {"web", "s2", 0, "DRAIN", 0}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", `line 1: want a header`},
		{"No such proxy.\n", `line 1: want a header`},
		{"# pxname,svname,status,weight\n", `no column "scur"`},
		{"# pxname,svname,scur,scur,status,weight\n", `column "scur" twice`},
		{statHeader + "web,s1,0,2,UP\n", "line 2: 5 fields, the header has 7"},
		{statHeader + "web,s1,0,-1,UP,1,\n", "line 2: scur: want a non-negative integer"},
		{statHeader + "web,s1,0,,UP,1,\n", "line 2: scur"},
		{statHeader + "web,s1,0,1,UP,x,\n", "line 2: weight"},
		{statHeader + "web,s1,0,+1,UP,1,\n", "line 2: scur"},
		{statHeader + ",s1,0,1,UP,1,\n", "line 2: empty pxname"},
		{statHeader + "web,s1,0,1,UP,1,\n\nweb,s2,0,1,UP,1,\n", "line 3: a row after the empty line"},
	} {
		_, err := ParseStat(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseStat(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func TestSetAnswer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"\n", ""},
		{"No such backend.\n\n", "no such backend"},
		{"No such server.\n\n", "no such server"},
		{"Permission denied\n", "haproxy refused the command: Permission denied"},
		{"Unknown command, but maybe\n  add acl\n", "refused the command: Unknown command, but maybe"},
	} {
		err := setAnswer("cmd", tc.in)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("setAnswer(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseStat: any answer parses or fails cleanly, and what parses has
// server rows only, with non-negative counts.
func FuzzParseStat(f *testing.F) {
	f.Add(statHeader + "web,s1,0,2,UP,10,\n\n")
	f.Add(statHeader + "web,BACKEND,0,2,UP,10,\nweb,s2,0,0,DRAIN,0,\n")
	f.Add("No such proxy.\n")
	f.Add("# a,b\n1,2\n")
	f.Fuzz(func(t *testing.T, in string) {
		stats, err := ParseStat(in)
		if err != nil {
			return
		}
		for _, s := range stats {
			if s.Server == "FRONTEND" || s.Server == "BACKEND" || s.Backend == "" || s.Server == "" || s.Sessions < 0 || s.Weight < 0 {
				t.Fatalf("ParseStat(%q) gave %+v", in, s)
			}
		}
	})
}
