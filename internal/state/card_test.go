package state

import (
	"maps"
	"slices"
	"testing"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func cardEv(k any) *opsyncpb.Event {
	ev := &opsyncpb.Event{Time: 1000}
	switch k := k.(type) {
	case *opsyncpb.CardCreated:
		ev.Kind = &opsyncpb.Event_CardCreated{CardCreated: k}
	case *opsyncpb.CardDataUpdated:
		ev.Kind = &opsyncpb.Event_CardDataUpdated{CardDataUpdated: k}
	case *opsyncpb.PrivateDataUpdated:
		ev.Kind = &opsyncpb.Event_PrivateDataUpdated{PrivateDataUpdated: k}
	case *opsyncpb.CardDelivered:
		ev.Kind = &opsyncpb.Event_CardDelivered{CardDelivered: k}
	}
	return ev
}

func params(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestCardApply(t *testing.T) {
	created := &opsyncpb.CardCreated{Card: &opsyncpb.Card{OutTrackId: "c1", CardTemplateId: "tpl", UserId: "owner",
		PublicData:  params("title", "t0", "n", "1"),
		PrivateData: map[string]*opsyncpb.CardParams{"bob": {CardParamMap: params("n", "b1", "secret", "x")}}}}
	cases := []struct {
		name    string
		events  []any
		user    string
		want    map[string]string
		private []string
		version uint64
	}{
		{"created: public only for a user without private data", nil, "alice", params("title", "t0", "n", "1"), nil, 1},
		{"created: private merged over public by key", nil, "bob", params("title", "t0", "n", "b1", "secret", "x"), []string{"n", "secret"}, 1},
		{"public replace drops the keys not sent", []any{&opsyncpb.CardDataUpdated{CardParamMap: params("n", "2")}}, "alice", params("n", "2"), nil, 2},
		{"public merge keeps the keys not sent", []any{&opsyncpb.CardDataUpdated{CardParamMap: params("n", "2"), Merge: true}}, "alice", params("title", "t0", "n", "2"), nil, 2},
		{"private replace is per user", []any{&opsyncpb.PrivateDataUpdated{PrivateData: map[string]*opsyncpb.CardParams{"bob": {CardParamMap: params("secret", "y")}}}},
			"bob", params("title", "t0", "n", "1", "secret", "y"), []string{"secret"}, 2},
		{"private merge keeps the user's other keys", []any{&opsyncpb.PrivateDataUpdated{Merge: true, PrivateData: map[string]*opsyncpb.CardParams{"bob": {CardParamMap: params("secret", "y")}}}},
			"bob", params("title", "t0", "n", "b1", "secret", "y"), []string{"n", "secret"}, 2},
		{"another user's private update leaves bob's", []any{&opsyncpb.PrivateDataUpdated{PrivateData: map[string]*opsyncpb.CardParams{"carol": {CardParamMap: params("n", "c")}}}},
			"bob", params("title", "t0", "n", "b1", "secret", "x"), []string{"n", "secret"}, 2},
		{"a delivery changes no data and no version", []any{&opsyncpb.CardDelivered{UserIds: []string{"dave"}}}, "dave", params("title", "t0", "n", "1"), nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewCard()
			if err := s.Apply(1, cardEv(created)); err != nil {
				t.Fatal(err)
			}
			for i, e := range tc.events {
				if err := s.Apply(uint64(i+2), cardEv(e)); err != nil {
					t.Fatal(err)
				}
			}
			v := s.View(tc.user)
			if !maps.Equal(v.CardParamMap, tc.want) || !slices.Equal(v.PrivateKeys, tc.private) || v.Version != tc.version {
				t.Fatalf("view of %s = %v private %v v%d, want %v %v v%d", tc.user, v.CardParamMap, v.PrivateKeys, v.Version, tc.want, tc.private, tc.version)
			}
			// A snapshot restores the same view.
			r := RestoreCard(s.Snapshot())
			if got := r.View(tc.user); !maps.Equal(got.CardParamMap, tc.want) || got.Version != tc.version {
				t.Fatalf("restored view %v v%d", got.CardParamMap, got.Version)
			}
		})
	}
}

func TestCardRecipients(t *testing.T) {
	s := NewCard()
	if s.IsRecipient("owner") {
		t.Fatal("a card not created has recipients")
	}
	must := func(seq uint64, e any) {
		if err := s.Apply(seq, cardEv(e)); err != nil {
			t.Fatal(err)
		}
	}
	must(1, &opsyncpb.CardCreated{Card: &opsyncpb.Card{OutTrackId: "c", UserId: "owner",
		PrivateData: map[string]*opsyncpb.CardParams{"bob": {}}}})
	must(2, &opsyncpb.CardDelivered{UserIds: []string{"dave", "carl", "dave"}})
	for user, want := range map[string]bool{"owner": true, "bob": true, "dave": true, "carl": true, "eve": false, "": false} {
		if got := s.IsRecipient(user); got != want {
			t.Errorf("IsRecipient(%q) = %v, want %v", user, got, want)
		}
	}
	if d := s.Card().Delivered; !slices.Equal(d, []string{"carl", "dave"}) {
		t.Fatalf("delivered %v, want sorted and unique", d)
	}
}

func TestCardRefusesOutOfOrderEvents(t *testing.T) {
	s := NewCard()
	if err := s.Apply(1, cardEv(&opsyncpb.CardDataUpdated{})); err == nil {
		t.Fatal("an update before creation applied")
	}
	if err := s.Apply(1, cardEv(&opsyncpb.CardCreated{Card: &opsyncpb.Card{OutTrackId: "c"}})); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(2, cardEv(&opsyncpb.CardCreated{Card: &opsyncpb.Card{OutTrackId: "c"}})); err == nil {
		t.Fatal("a second creation applied")
	}
	if err := s.Apply(1, cardEv(&opsyncpb.CardDelivered{})); err == nil {
		t.Fatal("an event applied at a seq already applied")
	}
	if err := s.Apply(3, &opsyncpb.Event{Kind: &opsyncpb.Event_EntityCreated{}}); err == nil {
		t.Fatal("a block event applied to a card")
	}
}
