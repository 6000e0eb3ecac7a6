package actors

import (
	"strconv"
	"strings"

	"github.com/opsync/opsync/proto/opsyncpb"
)

// Deliverable reports whether an entry may go to a client that reported
// osType and appVersion at connect, at time nowMs: it has not expired, its
// osType (if any) matches case-insensitively, and appVersion lies within
// [appMinVersion, appMaxVersion] where those are set.
func Deliverable(e *opsyncpb.Entry, osType, appVersion string, nowMs int64) bool {
	if e.ValidTimeEnd > 0 && nowMs > e.ValidTimeEnd {
		return false
	}
	if e.OsType != "" && !strings.EqualFold(e.OsType, osType) {
		return false
	}
	if e.AppMinVersion != "" && CompareVersions(appVersion, e.AppMinVersion) < 0 {
		return false
	}
	if e.AppMaxVersion != "" && CompareVersions(appVersion, e.AppMaxVersion) > 0 {
		return false
	}
	return true
}

// CompareVersions compares dotted versions numerically, part by part
// ("10.1.2" > "9.8"); a missing part counts as 0 and a part that is not a
// number counts as 0, so a client that reported no version is the lowest.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := versionPart(pa, i), versionPart(pb, i)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionPart(parts []string, i int) uint64 {
	if i >= len(parts) {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(parts[i]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}
