package push

import (
	"context"
	"strings"
	"testing"

	"github.com/opsync/opsync/internal/persistence"
	"github.com/opsync/opsync/internal/resultcode"
)

// lowSpace is a space guard below its reserve.
func lowSpace(t *testing.T) *persistence.SpaceGuard {
	t.Helper()
	g := persistence.NewSpaceGuard(persistence.SpaceOptions{Dir: "/data", Reserve: 64 << 20,
		Free: func() (uint64, error) { return 32 << 20, nil }})
	g.Sample()
	if g.Mode() != persistence.SpaceLow {
		t.Fatalf("mode %v", g.Mode())
	}
	return g
}

// While the node's disk is below its reserve, a push that would store an
// entry answers SYSTEM_ERROR without reaching a stream, saying why; the
// refusals decided before (unknown bizType, scope) keep their codes, and
// a transient push, which stores nothing, goes on.
func TestServiceOnALowDisk(t *testing.T) {
	key := APIKey(testKey)
	for _, tc := range []struct {
		name   string
		req    Request
		code   string
		routed bool
	}{
		{"single", req(Specified, "CHAT", "alice"), resultcode.SystemError, false},
		{"global", req(Global, "NEWS", ""), resultcode.SystemError, false},
		{"transient", req(Specified, "LIVE", "alice"), resultcode.Success, true},
		{"unknown bizType", req(Specified, "NOPE", "alice"), resultcode.BizNotOnline, false},
		{"global on the single API", req(Specified, "NEWS", "alice"), resultcode.NotSupportGlobal, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f, _ := newTestService(t)
			s.space = lowSpace(t)
			res := s.Push(context.Background(), testInstance, key, tc.req)
			if res.Code != tc.code || res.Routed != tc.routed || (len(f.calls) > 0) != tc.routed {
				t.Fatalf("answered %+v with %d routes, want %s routed %v", res, len(f.calls), tc.code, tc.routed)
			}
			if tc.code == resultcode.SystemError && !strings.Contains(res.Detail, "disk space low") {
				t.Fatalf("detail %q does not say why", res.Detail)
			}
		})
	}

	s, f, _ := newTestService(t)
	s.space = lowSpace(t)
	tenant, refused := s.Authorize(context.Background(), testInstance, key)
	if tenant == nil {
		t.Fatalf("authorize: %+v", refused)
	}
	a, b, paused := req(Specified, "CHAT", "alice"), req(Specified, "LOCK", "dev-1"), req(Specified, "PAUSED", "alice")
	var got []string
	for _, r := range tenant.Batch(context.Background(), []*Request{&a, &b, &paused}) {
		got = append(got, r.Code)
	}
	if want := []string{resultcode.SystemError, resultcode.SystemError, resultcode.BizNotOnline}; strings.Join(got, ",") != strings.Join(want, ",") || len(f.calls) != 0 {
		t.Fatalf("batch answered %v with %d routes, want %v and none", got, len(f.calls), want)
	}
}
