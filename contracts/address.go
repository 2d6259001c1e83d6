package contracts

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// addressRule is what a host address must look like, for messages.
const addressRule = "an address is host[:port]: a DNS name or an IP literal (IPv6 in brackets, as [::1]:22), with an optional port 1-65535"

// SplitAddress parses a host address: a DNS name or an IP literal (IPv6 in
// brackets), with an optional port 1-65535. port is 0 when the address has
// none; host comes without brackets. The address reaches templates, URLs,
// logs and dial calls, so nothing but these characters passes: no spaces,
// no shell metacharacters, no scheme or path.
func SplitAddress(addr string) (host string, port int, problem string) {
	if addr == "" {
		return "", 0, "must not be empty"
	}
	if len(addr) > maxHostLen+8 {
		return "", 0, fmt.Sprintf("is %d characters long; %s", len(addr), addressRule)
	}
	bad := func(why string) (string, int, string) {
		return "", 0, fmt.Sprintf("%q %s; %s", clip(addr), why, addressRule)
	}
	hostPart, portPart, hasPort := addr, "", false
	if strings.HasPrefix(addr, "[") {
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return bad("opens a '[' it does not close")
		}
		hostPart = addr[1:end]
		switch rest := addr[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			portPart, hasPort = rest[1:], true
		default:
			return bad("has something other than :port after ']'")
		}
		ip, err := netip.ParseAddr(hostPart)
		if err != nil || !ip.Is6() {
			return bad("holds no IPv6 address in its brackets")
		}
		if z := ip.Zone(); z != "" && !ValidToken(z) {
			return bad("has an IPv6 zone that is not letters, digits, '-' or '_'")
		}
	} else {
		if i := strings.LastIndexByte(addr, ':'); i >= 0 {
			if strings.IndexByte(addr, ':') != i {
				return bad("looks like an IPv6 address; write it in brackets")
			}
			hostPart, portPart, hasPort = addr[:i], addr[i+1:], true
		}
		if msg := dnsOrIPv4Problem(hostPart); msg != "" {
			return bad(msg)
		}
	}
	if hasPort {
		p, msg := parsePort(portPart)
		if msg != "" {
			return bad(msg)
		}
		port = p
	}
	return hostPart, port, ""
}

// AddressProblem describes what is wrong with a host address, or returns ""
// for a good one (see SplitAddress).
func AddressProblem(addr string) string {
	_, _, problem := SplitAddress(addr)
	return problem
}

func dnsOrIPv4Problem(h string) string {
	switch {
	case h == "":
		return "has no host before the port"
	case len(h) > maxHostLen:
		return fmt.Sprintf("has a host of %d characters, more than %d", len(h), maxHostLen)
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if !validLabel(l) {
			return "is neither a DNS name (dot-separated labels of 1-63 letters, digits or '-', not starting or ending with '-') nor an IP address"
		}
	}
	// A name whose last label is all digits can only be meant as IPv4.
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		if ip, err := netip.ParseAddr(h); err != nil || !ip.Is4() {
			return "is not a valid IPv4 address"
		}
	}
	return ""
}

func parsePort(s string) (int, string) {
	if s == "" {
		return 0, "has an empty port after ':'"
	}
	if len(s) > 5 || s[0] == '0' || strings.Trim(s, "0123456789") != "" {
		return 0, "has a port that is not a number 1-65535"
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, "has a port that is not a number 1-65535"
	}
	return p, ""
}
