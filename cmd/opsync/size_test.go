package main

import "testing"

func TestSizeFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "0", want: 0},
		{in: "4096", want: 4096},
		{in: "256MiB", want: 256 << 20},
		{in: "256mib", want: 256 << 20},
		{in: "8M", want: 8 << 20},
		{in: "1 GiB", want: 1 << 30},
		{in: "2GB", want: 2 << 30},
		{in: "10KiB", want: 10 << 10},
		{in: "100b", want: 100},
		{in: "", bad: true},
		{in: "-1MiB", bad: true},
		{in: "1.5GiB", bad: true},
		{in: "lots", bad: true},
		{in: "9999999999TiB", bad: true},
	} {
		var s sizeFlag
		err := s.Set(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && int64(s) != tc.want) {
			t.Errorf("Set(%q) = %d, %v; want %d (error: %v)", tc.in, s, err, tc.want, tc.bad)
		}
	}
}
