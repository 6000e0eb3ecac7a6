package actors

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// How an instance's push APIs authenticate a backend (the setting
// pushAuth): with the instance's API key, or, as the source's private
// deployments, without a key from listed networks.

// The admin API's names of the PushAuth values; the operation log spells
// them the same.
const (
	PushAuthAPIKey   = "apiKey"
	PushAuthNetworks = "networks"
)

// MaxPushNetworks bounds the networks an instance lists: every push from
// a keyless caller is checked against each.
const MaxPushNetworks = 64

// PushAuthName is the admin API's name of a.
func PushAuthName(a opsyncpb.PushAuth) string {
	if a == opsyncpb.PushAuth_PUSH_AUTH_NETWORKS {
		return PushAuthNetworks
	}
	return PushAuthAPIKey
}

// ParsePushAuth reads the admin API's name of a PushAuth.
func ParsePushAuth(s string) (opsyncpb.PushAuth, error) {
	switch s {
	case PushAuthAPIKey:
		return opsyncpb.PushAuth_PUSH_AUTH_API_KEY, nil
	case PushAuthNetworks:
		return opsyncpb.PushAuth_PUSH_AUTH_NETWORKS, nil
	}
	return 0, fmt.Errorf("pushAuth must be %q or %q, not %q", PushAuthAPIKey, PushAuthNetworks, s)
}

// NormalizePushNetworks checks the networks of the pushNetworks setting,
// each a CIDR ("10.0.0.0/8", "fd00::/8") or a single address, and returns
// them canonical (host bits cleared, an address as /32 or /128, IPv4
// written as IPv4), without repeats, in the order given.
func NormalizePushNetworks(in []string) ([]string, error) {
	if len(in) > MaxPushNetworks {
		return nil, fmt.Errorf("pushNetworks: at most %d networks", MaxPushNetworks)
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		p, err := parseNetwork(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("pushNetworks: %q is not a CIDR (10.0.0.0/8) or an IP address", s)
		}
		if c := p.String(); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

func parseNetwork(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("bad address")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// applyPushSettings sets in cur the push settings m changes: pushAuth,
// pushNetworks, logApiPushes. Keyless pushes need a network to come from:
// networks mode with an empty list is refused, as it would refuse every
// keyless push while looking open.
func applyPushSettings(cur *opsyncpb.InstanceSettings, m *opsyncpb.ChangeInstanceSettings) error {
	if m.PushAuth != nil {
		cur.PushAuth = m.GetPushAuth()
	}
	if m.SetPushNetworks {
		nets, err := NormalizePushNetworks(m.PushNetworks)
		if err != nil {
			return err
		}
		cur.PushNetworks = nets
	}
	if m.LogApiPushes != nil {
		cur.LogApiPushes = m.GetLogApiPushes()
	}
	if cur.PushAuth == opsyncpb.PushAuth_PUSH_AUTH_NETWORKS && len(cur.PushNetworks) == 0 {
		return fmt.Errorf("pushAuth %q needs pushNetworks: the networks that may push without a key", PushAuthNetworks)
	}
	return nil
}

// pushSettingsChanges adds to changes the push settings that differ
// between old and cur, for the MODIFY_SETTINGS row: the operation log
// shows who opened an instance to keyless pushes, and from where.
func pushSettingsChanges(old, cur *opsyncpb.InstanceSettings, changes map[string]*opsyncpb.FieldChange) {
	if old.PushAuth != cur.PushAuth {
		changes["pushAuth"] = &opsyncpb.FieldChange{Old: PushAuthName(old.PushAuth), New: PushAuthName(cur.PushAuth)}
	}
	if !slices.Equal(old.PushNetworks, cur.PushNetworks) {
		changes["pushNetworks"] = &opsyncpb.FieldChange{Old: strings.Join(old.PushNetworks, ","), New: strings.Join(cur.PushNetworks, ",")}
	}
	if old.LogApiPushes != cur.LogApiPushes {
		changes["logApiPushes"] = &opsyncpb.FieldChange{Old: fmt.Sprint(old.LogApiPushes), New: fmt.Sprint(cur.LogApiPushes)}
	}
}
