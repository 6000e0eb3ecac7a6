package actors

import (
	"fmt"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// What a connection may read. Every connection reads the global streams
// of the bizTypes it registers; a connection with a userId reads its
// user's stream (a device-only one, before sign-in, has none); a
// connection reads its device's stream unless the instance requires
// tokens, binds devices to tokens (DeviceBinding TOKEN, the default) and
// the connection's token names no device (did): a valid token for one user
// must not read any device's data by sending that device's id.

// deviceStreamWithheld reports whether a connection authorized with claims
// (nil: no token) may not read its device's stream.
func deviceStreamWithheld(settings *opsyncpb.InstanceSettings, claims *auth.Claims) bool {
	if !settings.GetRequireToken() || settings.GetDeviceBinding() == opsyncpb.DeviceBinding_DEVICE_BINDING_ANY {
		return false
	}
	return claims == nil || claims.Device == ""
}

// withheldBizTypes returns, of bizs, those a connection does not receive:
// user-target ones without a user (noUser), device-target ones without its
// device's stream (noDevice). Unknown and global bizTypes are not withheld.
func withheldBizTypes(bizs []string, config func(string) (*opsyncpb.BizTypeConfig, bool), noUser, noDevice bool) []string {
	var out []string
	for _, biz := range bizs {
		cfg, ok := config(biz)
		if !ok || cfg.Scope == opsyncpb.Scope_SCOPE_GLOBAL {
			continue
		}
		if (cfg.Target == opsyncpb.Target_TARGET_USER && noUser) || (cfg.Target == opsyncpb.Target_TARGET_DEVICE && noDevice) {
			out = append(out, biz)
		}
	}
	return out
}

// deviceBindingNames are the settings' names of the DeviceBinding values.
var deviceBindingNames = map[opsyncpb.DeviceBinding]string{
	opsyncpb.DeviceBinding_DEVICE_BINDING_TOKEN: "token",
	opsyncpb.DeviceBinding_DEVICE_BINDING_ANY:   "any",
}

// DeviceBindingName is the settings' name of b: "token" or "any".
func DeviceBindingName(b opsyncpb.DeviceBinding) string { return deviceBindingNames[b] }

// ParseDeviceBinding reads a setting's name of a DeviceBinding.
func ParseDeviceBinding(s string) (opsyncpb.DeviceBinding, error) {
	for b, name := range deviceBindingNames {
		if name == s {
			return b, nil
		}
	}
	return 0, fmt.Errorf(`deviceBinding must be "token" or "any", not %q`, s)
}
