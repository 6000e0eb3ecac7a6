package edge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
)

// Field limits of the push APIs (source §5.2 "请求参数"), in characters as
// the source's Java counts them: UTF-16 code units (utf16Len).
const (
	maxBizTypeLen    = 30
	maxLinkTokenLen  = 100
	maxPayloadLen    = 4096
	maxThirdMsgIDLen = 100
	maxOSTypeLen     = 10
	maxVersionLen    = 20
	maxValidTimeEnd  = 9999999999999 // 13 digits
)

// PushRequest is the JSON body of a single or global push.
type PushRequest struct {
	BizType       string `json:"bizType"`
	LinkToken     string `json:"linkToken"`
	Payload       string `json:"payload"`
	BinaryPayload string `json:"binaryPayload"`
	ThirdMsgID    string `json:"thirdMsgId"`
	OSType        string `json:"osType"`
	AppMinVersion string `json:"appMinVersion"`
	AppMaxVersion string `json:"appMaxVersion"`
	// ValidTimeEnd is milliseconds since the epoch; 0 when absent.
	ValidTimeEnd int64 `json:"-"`

	binary []byte
}

// pushWire accepts validTimeEnd as a JSON number or a numeric string, as
// the source's Java samples send either.
type pushWire struct {
	PushRequest
	ValidTimeEnd json.RawMessage `json:"validTimeEnd"`
}

// PushError is a push body that cannot be accepted: Code is the result
// code to answer, Detail says why.
type PushError struct {
	Code   string
	Detail string
}

func (e *PushError) Error() string { return e.Code + ": " + e.Detail }

func invalid(format string, args ...any) *PushError {
	return &PushError{Code: resultcode.ArgsInvalid, Detail: fmt.Sprintf(format, args...)}
}

// ParsePushBody decodes and checks a push body. withLinkToken is true for
// the single push API. The error, if any, is a *PushError.
func ParsePushBody(body []byte, withLinkToken bool) (*PushRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		// The source's answer to a push without its required arguments.
		return nil, &PushError{Code: resultcode.ArgsIsNull, Detail: "empty body: bizType, linkToken, thirdMsgId and payload or binaryPayload are required"}
	}
	if err := checkUTF8(body); err != nil {
		return nil, err
	}
	var w pushWire
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, invalid("body is not a JSON object with string fields: %v", err)
	}
	if dec.More() {
		return nil, invalid("body has data after the JSON object")
	}
	req := &w.PushRequest
	if err := parseValidTimeEnd(w.ValidTimeEnd, req); err != nil {
		return nil, err
	}
	return req, req.check(withLinkToken)
}

func parseValidTimeEnd(raw json.RawMessage, req *PushRequest) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid("validTimeEnd: %v", err)
		}
		if s == "" {
			return nil
		}
	} else {
		s = string(raw)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > maxValidTimeEnd {
		return invalid("validTimeEnd must be milliseconds since the epoch (at most 13 digits)")
	}
	req.ValidTimeEnd = v
	return nil
}

// check applies the source's rules in the order its result codes suggest:
// missing arguments first, then lengths.
func (r *PushRequest) check(withLinkToken bool) error {
	switch {
	case r.BizType == "" || (withLinkToken && r.LinkToken == "") || (r.Payload == "" && r.BinaryPayload == ""):
		return &PushError{Code: resultcode.ArgsIsNull, Detail: "bizType, linkToken and payload or binaryPayload are required"}
	case r.ThirdMsgID == "":
		return &PushError{Code: resultcode.ThirdMsgIDIsNull, Detail: "thirdMsgId is required"}
	case !withLinkToken && r.LinkToken != "":
		return invalid("the global push API takes no linkToken")
	case r.Payload != "" && r.BinaryPayload != "":
		return invalid("payload and binaryPayload are exclusive")
	case utf16Len(r.Payload) > maxPayloadLen || len(r.BinaryPayload) > maxPayloadLen:
		return &PushError{Code: resultcode.PayloadLong, Detail: fmt.Sprintf("payload longer than %d characters (UTF-16 code units)", maxPayloadLen)}
	case utf16Len(r.ThirdMsgID) > maxThirdMsgIDLen:
		return &PushError{Code: resultcode.ThirdMsgIDLong, Detail: fmt.Sprintf("thirdMsgId longer than %d characters (UTF-16 code units)", maxThirdMsgIDLen)}
	case utf16Len(r.BizType) > maxBizTypeLen:
		return invalid("bizType longer than %d characters", maxBizTypeLen)
	case utf16Len(r.LinkToken) > maxLinkTokenLen:
		return invalid("linkToken longer than %d characters (UTF-16 code units)", maxLinkTokenLen)
	case utf16Len(r.OSType) > maxOSTypeLen:
		return invalid("osType longer than %d characters", maxOSTypeLen)
	case utf16Len(r.AppMinVersion) > maxVersionLen || utf16Len(r.AppMaxVersion) > maxVersionLen:
		return invalid("appMinVersion and appMaxVersion are at most %d characters", maxVersionLen)
	}
	if r.BinaryPayload != "" {
		b, err := base64.StdEncoding.DecodeString(r.BinaryPayload)
		if err != nil {
			return invalid("binaryPayload is not standard base64: %v", err)
		}
		if len(b) == 0 {
			return &PushError{Code: resultcode.ArgsIsNull, Detail: "binaryPayload is empty"}
		}
		r.binary = b
	}
	return nil
}

// Request is the push the body asks for, as the push service takes it.
func (r *PushRequest) Request(scope push.Scope) push.Request {
	return push.Request{
		Scope:        scope,
		BizType:      r.BizType,
		LinkToken:    r.LinkToken,
		ThirdMsgID:   r.ThirdMsgID,
		Payload:      r.Payload,
		Binary:       r.binary,
		Filters:      push.Filters{OSType: r.OSType, AppMinVersion: r.AppMinVersion, AppMaxVersion: r.AppMaxVersion},
		ValidTimeEnd: r.ValidTimeEnd,
	}
}

// pushCode returns the result code of a parse error.
func pushCode(err error) (string, string) {
	var pe *PushError
	if errors.As(err, &pe) {
		return pe.Code, pe.Detail
	}
	return resultcode.ArgsInvalid, err.Error()
}
