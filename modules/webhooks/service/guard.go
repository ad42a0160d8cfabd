package service

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"

	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/modules/webhooks"
)

// Webhook URLs are chosen by whoever holds an admin key, and the server
// fetches them: without care that is server-side request forgery into the
// shop's own network. By default only https:// URLs that resolve to public
// addresses are allowed, and the address is checked again when each
// delivery connects (a name may resolve differently by then).

// ErrURLNotAllowed is a webhook URL the server refuses to call.
var ErrURLNotAllowed = webhooks.ErrURLNotAllowed

// reserved are special-purpose ranges the net/netip predicates leave out.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: may embed a private IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("100::/64"),       // discard
}

// public reports whether an address may be called: not loopback, private,
// link-local (which includes the cloud metadata address 169.254.169.254),
// multicast, unspecified or otherwise reserved.
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

func wellFormed(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http") && u.User == nil
}

// checkURL checks, at registration, where a well-formed webhook URL leads.
// Its messages name no address: they must not turn into a map of the
// shop's internal network.
func checkURL(ctx context.Context, raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errs.InvalidField("url", "must be an absolute http(s) URL without credentials")
	}
	if allowPrivate {
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%w: %s is not https", ErrURLNotAllowed, raw)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("%w: %s does not resolve", ErrURLNotAllowed, u.Hostname())
	}
	for _, a := range addrs {
		if !public(a) {
			return fmt.Errorf("%w: %s resolves to a non-public address", ErrURLNotAllowed, u.Hostname())
		}
	}
	return nil
}

// dialControl refuses, at connect time, any address that is not public.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if !public(ap.Addr()) {
		return fmt.Errorf("%w: refusing to connect to %s", ErrURLNotAllowed, ap.Addr())
	}
	return nil
}
