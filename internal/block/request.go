package block

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// Limits of the block API.
const (
	// MaxBody bounds a request body (HTTP 413 and CodeBodyTooLarge past it).
	MaxBody = 64 << 10
	// MaxBusinessID bounds business_id, in bytes.
	MaxBusinessID = 128
	// MaxOpenIDs bounds the users of one typed message.
	MaxOpenIDs = 1000
)

// Version is a version as the API carries it: a string of decimal digits
// (a JSON number is taken too). Versions are ordered as unsigned integers
// ("10" after "9"); anything else is refused.
type Version uint64

func (v *Version) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	if s == "" || s == "null" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return fmt.Errorf("version must be a decimal integer from 1 to 18446744073709551615, not %s", b)
	}
	*v = Version(n)
	return nil
}

// EntityRequest is the body of create and update, as the service's SDK
// sends it (business_id is opsync's addition).
type EntityRequest struct {
	Title       string  `json:"title"`
	BlockTypeID string  `json:"block_type_id"`
	SourceData  string  `json:"source_data"`
	SourceMeta  string  `json:"source_meta"`
	Version     Version `json:"version"`
	SourceLink  string  `json:"source_link"`
	Owner       string  `json:"owner"`
	Extra       string  `json:"extra"`
	Summary     string  `json:"summary"`
	Preview     string  `json:"preview"`
	I18nSummary string  `json:"i18n_summary"`
	// I18nSummay is the SDK's spelling of i18n_summary in an update.
	I18nSummay  string `json:"i18n_summay"`
	I18nPreview string `json:"i18n_preview"`
	BusinessID  string `json:"business_id"`
}

// MessageRequest is the body of a typed message.
type MessageRequest struct {
	BlockID  string   `json:"block_id"`
	OpenIDs  []string `json:"open_ids"`
	Resource string   `json:"resource"`
	Body     string   `json:"body"`
	Version  Version  `json:"version"`
	Type     string   `json:"type"`
}

// decode reads a JSON body into v, naming the field a type error is in.
func decode(body []byte, v any) *Error {
	if len(body) > MaxBody {
		return tooLarge()
	}
	if !utf8.Valid(body) {
		return invalid("the body is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalid(fmt.Sprintf("%s must be a JSON %s, not %s", te.Field, kindOf(te.Type.Kind().String()), te.Value))
		}
		return invalid("the body is not a JSON object: " + err.Error())
	}
	return nil
}

func kindOf(k string) string {
	if k == "slice" {
		return "array"
	}
	return k
}

func tooLarge() *Error {
	return &Error{Code: CodeBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("the body is over %d bytes", MaxBody)}
}

// ParseEntity reads and checks a create (create true) or update body.
// source_data must be a string holding JSON; a create needs
// block_type_id and source_data.
func ParseEntity(body []byte, create bool) (*opsyncpb.BlockEntity, *Error) {
	var r EntityRequest
	if err := decode(body, &r); err != nil {
		return nil, err
	}
	switch {
	case create && r.BlockTypeID == "":
		return nil, invalid("block_type_id is required")
	case create && r.SourceData == "":
		return nil, invalid("source_data is required: a string holding JSON")
	case r.SourceData != "" && !json.Valid([]byte(r.SourceData)):
		return nil, invalid("source_data must be a string holding JSON text (e.g. \"{\\\"votes\\\":3}\")")
	case len(r.BusinessID) > MaxBusinessID:
		return nil, invalid(fmt.Sprintf("business_id is longer than %d bytes", MaxBusinessID))
	case !create && r.BusinessID != "":
		return nil, invalid("business_id is set at create and cannot change")
	}
	if r.I18nSummary == "" {
		r.I18nSummary = r.I18nSummay
	}
	return &opsyncpb.BlockEntity{Title: r.Title, BlockTypeId: r.BlockTypeID, SourceData: r.SourceData, SourceMeta: r.SourceMeta,
		Version: uint64(r.Version), SourceLink: r.SourceLink, Owner: r.Owner, Extra: r.Extra, Summary: r.Summary, Preview: r.Preview,
		I18NSummary: r.I18nSummary, I18NPreview: r.I18nPreview, BusinessId: r.BusinessID}, nil
}

// ParseMessage reads and checks a typed message body. Its type is the
// body's type, else its resource; its data is body.
func ParseMessage(body []byte) (blockID string, users []string, m *opsyncpb.TypedMessage, e *Error) {
	var r MessageRequest
	if err := decode(body, &r); err != nil {
		return "", nil, nil, err
	}
	switch {
	case r.BlockID == "":
		return "", nil, nil, invalid("block_id is required")
	case !actors.ValidBlockID(r.BlockID):
		return "", nil, nil, invalid("block_id is not a block id")
	case len(r.OpenIDs) == 0:
		return "", nil, nil, invalid("open_ids is required: the users to send the message to")
	case len(r.OpenIDs) > MaxOpenIDs:
		return "", nil, nil, invalid(fmt.Sprintf("open_ids lists more than %d users", MaxOpenIDs))
	}
	typ := r.Type
	if typ == "" {
		typ = r.Resource
	}
	return r.BlockID, r.OpenIDs, &opsyncpb.TypedMessage{Type: typ, Data: []byte(r.Body), Version: uint64(r.Version), Resource: r.Resource}, nil
}

// formatVersion is a version as the API writes it.
func formatVersion(v uint64) string { return strconv.FormatUint(v, 10) }
