package dynamic

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAnswer(t *testing.T) {
	type want struct {
		data, vt string
		err      error
	}
	for _, c := range []struct {
		name    string
		body    string
		bad     bool
		items   map[string]want
		missing []string
	}{
		{name: "all types", body: `{"dataSourceQueryResponses":[
			{"data":"{\"a\":1}","dynamicDataSourceId":"o","dynamicDataValueType":"OBJECT"},
			{"data":"[1,2]","dynamicDataSourceId":"a","dynamicDataValueType":"ARRAY"},
			{"data":"hi","dynamicDataSourceId":"s","dynamicDataValueType":"STRING"}]}`,
			items: map[string]want{"o": {`{"a":1}`, "OBJECT", nil}, "a": {"[1,2]", "ARRAY", nil}, "s": {"hi", "STRING", nil}}},
		{name: "unknown fields ignored", body: `{"extra":1,"dataSourceQueryResponses":[{"data":"x","dynamicDataSourceId":"s","dynamicDataValueType":"STRING","more":{"y":[]}}]}`,
			items: map[string]want{"s": {"x", "STRING", nil}}},
		{name: "data not a string spoils its item only", body: `{"dataSourceQueryResponses":[{"data":{"a":1},"dynamicDataSourceId":"o","dynamicDataValueType":"OBJECT"},{"data":"x","dynamicDataSourceId":"s","dynamicDataValueType":"STRING"}]}`,
			items: map[string]want{"o": {err: ErrDataNotString}, "s": {"x", "STRING", nil}}},
		{name: "data missing", body: `{"dataSourceQueryResponses":[{"dynamicDataSourceId":"o","dynamicDataValueType":"OBJECT"}]}`,
			items: map[string]want{"o": {err: ErrDataNotString}}},
		{name: "bad value type", body: `{"dataSourceQueryResponses":[{"data":"x","dynamicDataSourceId":"s","dynamicDataValueType":"string"},{"data":"x","dynamicDataSourceId":"t"}]}`,
			items: map[string]want{"s": {err: ErrBadValueType}, "t": {err: ErrBadValueType}}},
		{name: "first of two items counts", body: `{"dataSourceQueryResponses":[{"data":"1","dynamicDataSourceId":"s","dynamicDataValueType":"STRING"},{"data":"2","dynamicDataSourceId":"s","dynamicDataValueType":"STRING"}]}`,
			items: map[string]want{"s": {"1", "STRING", nil}}},
		{name: "item without id skipped", body: `{"dataSourceQueryResponses":[{"data":"1","dynamicDataSourceId":7,"dynamicDataValueType":"STRING"}]}`,
			missing: []string{"7"}},
		{name: "no responses", body: `{}`, missing: []string{"s"}},
		{name: "not JSON", body: `<html>`, bad: true},
		{name: "array", body: `[]`, bad: true},
		{name: "responses not an array", body: `{"dataSourceQueryResponses":{}}`, bad: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, err := ParseAnswer([]byte(c.body))
			if c.bad {
				if err == nil {
					t.Fatalf("ParseAnswer accepted %s", c.body)
				}
				if strings.Contains(err.Error(), c.body) {
					t.Errorf("the error quotes the answer: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != len(c.items) {
				t.Errorf("%d items, want %d", len(items), len(c.items))
			}
			for id, w := range c.items {
				it := items[id]
				if it.Data != w.data || it.ValueType != w.vt || !errors.Is(it.Err, w.err) {
					t.Errorf("item %s = %+v, want %+v", id, it, w)
				}
			}
			for _, id := range c.missing {
				if _, ok := items[id]; ok {
					t.Errorf("item %s present", id)
				}
			}
		})
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"dataSourceQueryResponses":[{"data":"{\"a\":1}","dynamicDataSourceId":"o","dynamicDataValueType":"OBJECT"}]}`,
		`{"dataSourceQueryResponses":[{"data":"x","dynamicDataSourceId":"s","dynamicDataValueType":"STRING"},{"data":1,"dynamicDataSourceId":"t","dynamicDataValueType":"ARRAY"}]}`,
		`{"dataSourceQueryResponses":[{"data":"\xff\xfe","dynamicDataSourceId":"\u0000","dynamicDataValueType":"ARRAY"}]}`,
		`{"dataSourceQueryResponses":null}`, `{}`, `null`, `[]`, `"x"`, ``, `{"dataSourceQueryResponses":[{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := ParseAnswer(b)
		if err != nil {
			if items != nil {
				t.Fatal("items with an error")
			}
			return
		}
		for id, it := range items {
			if !utf8.ValidString(id) {
				t.Fatalf("source id %q is not UTF-8", id)
			}
			if it.Err != nil {
				if it.Data != "" || it.ValueType != "" {
					t.Fatalf("item %q has an error and data", id)
				}
				continue
			}
			switch it.ValueType {
			case ValueString, ValueArray, ValueObject:
			default:
				t.Fatalf("item %q has value type %q", id, it.ValueType)
			}
			// The data goes into a protobuf string field, which must be UTF-8.
			if !utf8.ValidString(it.Data) {
				t.Fatalf("item %q has data that is not UTF-8", id)
			}
		}
	})
}
