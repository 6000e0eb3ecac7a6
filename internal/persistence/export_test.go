package persistence

// SetMemTableSize shrinks Pebble's memtable so that short test runs flush
// to sstables, and crash tests recover from a mix of sstables and WAL.
func SetMemTableSize(o *PebbleOptions, n uint64) { o.memTableSize = n }
