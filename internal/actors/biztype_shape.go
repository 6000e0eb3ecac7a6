package actors

import (
	"fmt"
	"strings"

	"github.com/opsync/opsync/internal/state"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A bizType's target (user or device), scope (specified or global) and
// persistence decide which stream holds its entries and where their oplog
// ids come from: a user's, a device's or the global stream's journal, or
// (not persistent) a clock. Clients keep one sync point per bizType and
// skip every id at or below it, so entries written after such a change
// land in another id sequence, below the sync points clients hold, and
// are answered SUCCESS but never delivered. These three are therefore
// fixed for the life of the bizType identifier in its instance, across
// deletions too (apps keep their sync points however long a bizType is
// gone); a change is refused with CONFLICT, and the way out is a new
// bizType.

// shapeFields are the config fields (as state.ConfigFields names them)
// that stay fixed.
var shapeFields = []string{"target", "scope", "persistent"}

// checkShape refuses c when it changes the target, scope or persistence
// of prev, the bizType's current or last config (nil: a new bizType).
func checkShape(prev, c *opsyncpb.BizTypeConfig) error {
	if prev == nil {
		return nil
	}
	changes := state.ConfigChanges(prev, c)
	var changed []string
	for _, f := range shapeFields {
		if ch, ok := changes[f]; ok {
			changed = append(changed, fmt.Sprintf("%s %s -> %s", f, ch.Old, ch.New))
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return fmt.Errorf("bizType %s cannot change %s: clients hold sync points of its entries and would never receive entries stored "+
		"under the new setting (it stays fixed after a delete too); create a new bizType for the new setting instead",
		c.BizType, strings.Join(changed, ", "))
}
