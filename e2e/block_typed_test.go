package e2e

import (
	"testing"
)

// Typed messages to open_ids [a, b] reach a's and b's viewers of that
// block only: not c viewing it, not a viewing another block, and not b's
// device that was offline, not even after it connects and opens it.
func TestBlockTypedMessagesReachOnlyListedViewers(t *testing.T) {
	srv := startServer(t, t.TempDir())
	const inst = "ws_BLOCKTYPED"
	x := createBlock(t, srv.URL, inst, nil)
	y := createBlock(t, srv.URL, inst, nil)
	a1 := connectViewer(t, srv.URL, inst, "a", "a1", x)
	b1 := connectViewer(t, srv.URL, inst, "b", "b1", x)
	c1 := connectViewer(t, srv.URL, inst, "c", "c1", x)
	a2 := connectViewer(t, srv.URL, inst, "a", "a2", y)
	for _, v := range []*viewer{a1, b1, c1, a2} {
		v.nextState(t) // opened: the block's current version, so it is a viewer now
	}

	if n := sendTyped(t, srv.URL, inst, x, []string{"a", "b"}, "badge", `{"n":1}`, "1"); n != 2 {
		t.Fatalf("the message reached %d devices, want 2", n)
	}
	for _, v := range []*viewer{a1, b1} {
		if m := v.nextTyped(t); m.Type != "badge" || string(m.Data) != `{"n":1}` || m.Version != 1 || m.BlockID != x {
			t.Fatalf("viewer %s got %+v", v.SyncDeviceID(), m)
		}
	}
	// Markers sent after it: each viewer's next typed message is its
	// marker (a block's messages reach a node in order), so none of them
	// received the first.
	sendTyped(t, srv.URL, inst, x, []string{"c"}, "marker", "c", "1")
	if m := c1.nextTyped(t); m.Type != "marker" {
		t.Fatalf("c, viewing the block but not listed, got %+v", m)
	}
	sendTyped(t, srv.URL, inst, y, []string{"a"}, "marker", "a2", "1")
	if m := a2.nextTyped(t); m.Type != "marker" {
		t.Fatalf("a, viewing another block, got %+v", m)
	}
	b2 := connectViewer(t, srv.URL, inst, "b", "b2", x)
	b2.nextState(t)
	if n := sendTyped(t, srv.URL, inst, x, []string{"b"}, "marker", "b2", "2"); n != 2 {
		t.Fatalf("the marker to b reached %d devices, want b1 and b2", n)
	}
	if m := b2.nextTyped(t); m.Type != "marker" {
		t.Fatalf("b's device that was offline got %+v, the message sent before it connected", m)
	}
	// Nothing was stored: a message to a user with no viewer reaches none.
	if n := sendTyped(t, srv.URL, inst, x, []string{"nobody"}, "badge", "{}", "3"); n != 0 {
		t.Fatalf("a message to a user without viewers reached %d devices", n)
	}
}
