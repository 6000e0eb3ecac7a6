package dynamic

import (
	"encoding/json"
	"errors"
)

// MaxAnswerBytes bounds a callback's answer: a larger one is a bad answer
// (read no further), so that a callback cannot make the node hold without
// bound what it relays.
const MaxAnswerBytes = 1 << 20

// The value types of a source's data.
const (
	ValueString = "STRING"
	ValueArray  = "ARRAY"
	ValueObject = "OBJECT"
)

// Item is one source's data in a callback's answer, or why it is unusable.
type Item struct {
	Data      string // verbatim, as the callback sent it
	ValueType string // ValueString, ValueArray or ValueObject
	Err       error  // non-nil: the item is malformed (Data and ValueType are empty)
}

// Errors of an answer's items. They never quote the data.
var (
	ErrDataNotString  = errors.New("the callback's data for this source is not a JSON string")
	ErrBadValueType   = errors.New("the callback's dynamicDataValueType for this source is not STRING, ARRAY or OBJECT")
	ErrMissingSource  = errors.New("the callback's answer has no item for this source")
	errAnswerNotAJSON = errors.New("the callback's answer is not a JSON object with a dataSourceQueryResponses array")
)

type answerBody struct {
	Responses []answerItem `json:"dataSourceQueryResponses"`
}

// answerItem keeps its fields raw so that one malformed item spoils only
// itself, not the answer.
type answerItem struct {
	Data      json.RawMessage `json:"data"`
	SourceID  json.RawMessage `json:"dynamicDataSourceId"`
	ValueType json.RawMessage `json:"dynamicDataValueType"`
}

// ParseAnswer parses a callback's answer,
// {"dataSourceQueryResponses":[{"data","dynamicDataSourceId","dynamicDataValueType"}]},
// into its items by source id. Unknown fields are ignored; an item without
// a string source id is skipped; of two items for one source the first
// counts. An error means the answer as a whole is unusable (then every
// source asked for failed). The caller bounds body (MaxAnswerBytes).
func ParseAnswer(body []byte) (map[string]Item, error) {
	var a answerBody
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, errAnswerNotAJSON
	}
	items := make(map[string]Item, len(a.Responses))
	for _, r := range a.Responses {
		var id string
		if json.Unmarshal(r.SourceID, &id) != nil {
			continue
		}
		if _, seen := items[id]; seen {
			continue
		}
		items[id] = parseItem(r)
	}
	return items, nil
}

func parseItem(r answerItem) Item {
	var data, vt string
	if json.Unmarshal(r.Data, &data) != nil {
		return Item{Err: ErrDataNotString}
	}
	if json.Unmarshal(r.ValueType, &vt) != nil {
		return Item{Err: ErrBadValueType}
	}
	switch vt {
	case ValueString, ValueArray, ValueObject:
		return Item{Data: data, ValueType: vt}
	}
	return Item{Err: ErrBadValueType}
}
