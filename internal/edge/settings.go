package edge

import (
	"net/http"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// An instance's settings: requireToken, validationUrl, the signature
// switch, how pushes authenticate and whether they are logged, who reads
// a device's stream (deviceBinding).

func (s *Server) settingsGet(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.member.InstanceCommand(ctx, instance, &opsyncpb.GetInstance{})
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if res.Code != actors.ConfigOK {
		answerInstance(w, res, http.StatusOK, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": settingsJSON(res.Instance.Settings)})
}

// settingsPatch changes the settings given: {"requireToken": bool,
// "validationUrl": "https://..." or "", "signatureCheck": bool,
// "pushAuth": "apiKey"|"networks", "pushNetworks": ["CIDR", ...],
// "logApiPushes": bool, "deviceBinding": "token"|"any"}.
func (s *Server) settingsPatch(w http.ResponseWriter, r *http.Request) {
	instance, _, ok := s.adminTarget(w, r, false)
	if !ok {
		return
	}
	var body struct {
		RequireToken   *bool   `json:"requireToken"`
		ValidationURL  *string `json:"validationUrl"`
		SignatureCheck *bool   `json:"signatureCheck"`
		PushAuth       *string `json:"pushAuth"`
		// PushNetworks, when given, replaces the list ([] empties it).
		PushNetworks *[]string `json:"pushNetworks"`
		LogAPIPushes *bool     `json:"logApiPushes"`
		// DeviceBinding is "token" or "any".
		DeviceBinding *string `json:"deviceBinding"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	cmd := &opsyncpb.ChangeInstanceSettings{RequireToken: body.RequireToken, ValidationUrl: body.ValidationURL, SignatureCheck: body.SignatureCheck,
		LogApiPushes: body.LogAPIPushes}
	if body.PushAuth != nil {
		a, err := actors.ParsePushAuth(*body.PushAuth)
		if err != nil {
			writeError(w, http.StatusBadRequest, "INVALID", err.Error())
			return
		}
		cmd.PushAuth = &a
	}
	if body.PushNetworks != nil {
		cmd.SetPushNetworks, cmd.PushNetworks = true, *body.PushNetworks
	}
	if body.DeviceBinding != nil {
		b, err := actors.ParseDeviceBinding(*body.DeviceBinding)
		if err != nil {
			writeError(w, http.StatusBadRequest, "INVALID", err.Error())
			return
		}
		cmd.DeviceBinding = &b
	}
	if body.ValidationURL != nil {
		if err := actors.CheckValidationURL(*body.ValidationURL); err != nil {
			writeError(w, http.StatusBadRequest, "INVALID", err.Error())
			return
		}
	}
	op, ok := operator(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	cmd.Operator = op
	res, err := s.member.InstanceCommand(ctx, instance, cmd)
	s.push.Invalidate(instance)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "UNAVAILABLE", err.Error())
		return
	}
	if res.Code != actors.ConfigOK {
		answerInstance(w, res, http.StatusOK, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": settingsJSON(res.Instance.Settings)})
}
