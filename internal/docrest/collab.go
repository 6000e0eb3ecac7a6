package docrest

import (
	"encoding/base64"
	"time"
	"unicode/utf8"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// CollaborationJSON is a document's session as GET collaborations/{id}
// answers it: its version, connected users, the operations kept after
// its latest snapshot, and that snapshot (null: none), whose data is
// opaque bytes: given as text when it is UTF-8 ("encoding": "utf-8"),
// else in base64.
func CollaborationJSON(documentID string, c *opsyncpb.DocumentCollaboration) map[string]any {
	users := []map[string]any{}
	for _, u := range c.Users {
		users = append(users, map[string]any{"id": u})
	}
	var snap any
	if s := c.Snapshot; s != nil {
		data, enc := string(s.Data), "utf-8"
		if !utf8.Valid(s.Data) {
			data, enc = base64.StdEncoding.EncodeToString(s.Data), "base64"
		}
		snap = map[string]any{"version": s.Version, "data": data, "encoding": enc}
	}
	var updated any
	if c.UpdatedAt > 0 {
		updated = time.UnixMilli(c.UpdatedAt).UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return map[string]any{"document_id": documentID, "version": c.Version, "connected_users": users,
		"operations": c.Ops, "snapshot": snap, "updated_at": updated}
}
