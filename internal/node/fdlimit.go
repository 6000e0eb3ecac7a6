package node

import "syscall"

// raiseFileLimit raises the process's open-file limit to its hard limit
// and returns the limit in force. Go's runtime does the same at start on
// Linux; doing it here as well keeps the node's connection cap, computed
// from the result, right on systems and runtimes that do not.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		want := lim
		want.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			lim = want
		}
	}
	return lim.Cur, nil
}
