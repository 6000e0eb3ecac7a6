package edge

import (
	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// The JSON shapes of the instance administration API.

// InstanceJSON is an instance as the admin API answers it. The keys are
// in the answers of create and rotate only; every answer has their first
// characters, to tell keys apart.
type InstanceJSON struct {
	InstanceID         string       `json:"instanceId"`
	APIKey             string       `json:"apiKey,omitempty"`
	ClientSecret       string       `json:"clientSecret,omitempty"`
	APIKeyPrefix       string       `json:"apiKeyPrefix,omitempty"`
	ClientSecretPrefix string       `json:"clientSecretPrefix,omitempty"`
	CreatedAt          int64        `json:"createdAt"`
	KeysRotatedAt      int64        `json:"keysRotatedAt"`
	BizTypes           uint32       `json:"bizTypes"`
	Settings           SettingsJSON `json:"settings"`
}

// SettingsJSON are an instance's settings. In a PATCH every field is
// optional and only those given change.
type SettingsJSON struct {
	RequireToken   bool   `json:"requireToken"`
	ValidationURL  string `json:"validationUrl"`
	SignatureCheck bool   `json:"signatureCheck"`
	// PushAuth is how the push APIs authenticate: "apiKey" or "networks"
	// (keyless from PushNetworks).
	PushAuth     string   `json:"pushAuth"`
	PushNetworks []string `json:"pushNetworks"`
	LogAPIPushes bool     `json:"logApiPushes"`
	// DeviceBinding is "token" or "any": see actors.DeviceBindingName.
	DeviceBinding string `json:"deviceBinding"`
}

func settingsJSON(st *opsyncpb.InstanceSettings) SettingsJSON {
	return SettingsJSON{RequireToken: st.GetRequireToken(), ValidationURL: st.GetValidationUrl(), SignatureCheck: !st.GetSignatureCheckOff(),
		PushAuth: actors.PushAuthName(st.GetPushAuth()), PushNetworks: append([]string{}, st.GetPushNetworks()...), LogAPIPushes: st.GetLogApiPushes(),
		DeviceBinding: actors.DeviceBindingName(st.GetDeviceBinding())}
}

func instanceJSON(in *opsyncpb.InstanceInfo, withKeys bool) InstanceJSON {
	j := InstanceJSON{InstanceID: in.InstanceId, APIKeyPrefix: in.ApiKeyPrefix, ClientSecretPrefix: in.ClientSecretPrefix, CreatedAt: in.CreatedAt, KeysRotatedAt: in.KeysSetAt, BizTypes: in.BizTypes, Settings: settingsJSON(in.Settings)}
	if withKeys {
		j.APIKey, j.ClientSecret = in.ApiKey, in.ClientSecret
	}
	return j
}

// OperationJSON is one row of the operation log.
type OperationJSON struct {
	Time     int64                 `json:"time"`
	Operator string                `json:"operator"`
	Action   string                `json:"action"`
	Target   string                `json:"target,omitempty"`
	Details  map[string]string     `json:"details,omitempty"`
	Changes  map[string]ChangeJSON `json:"changes,omitempty"`
}

// ChangeJSON is a modified field: its value before and after.
type ChangeJSON struct {
	Old string `json:"old"`
	New string `json:"new"`
}

func operationJSON(op *opsyncpb.Operation) OperationJSON {
	j := OperationJSON{Time: op.Time, Operator: op.Operator, Action: op.Action, Target: op.Target, Details: op.Details}
	if len(op.Changes) > 0 {
		j.Changes = make(map[string]ChangeJSON, len(op.Changes))
		for k, c := range op.Changes {
			j.Changes[k] = ChangeJSON{Old: c.GetOld(), New: c.GetNew()}
		}
	}
	return j
}
