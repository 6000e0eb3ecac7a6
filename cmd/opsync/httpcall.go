package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

// reqOption adjusts a request before it is sent (headers).
type reqOption func(*http.Request)

// callJSON sends body (if not nil) as JSON and returns the status and the
// raw answer.
func callJSON(method, url string, body any, opts ...reqOption) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, out, err
}

// callAndPrint makes an admin call and prints its JSON answer; what names
// the command in error messages. It returns the exit code: 1 unless the
// answer is 2xx.
func callAndPrint(stdout, stderr io.Writer, what, method, url string, body any, opts ...reqOption) int {
	status, raw, err := callJSON(method, url, body, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", what, err)
		return 1
	}
	if status/100 != 2 {
		fmt.Fprintf(stderr, "%s: HTTP %d: %s%s\n", what, status, raw, hintFor(status))
		return 1
	}
	printAnswer(stdout, raw)
	return 0
}

// printAnswer prints a JSON answer on one line to stdout.
func printAnswer(stdout io.Writer, raw []byte) {
	fmt.Fprintln(stdout, strings.TrimSpace(string(raw)))
}

func trimURL(s string) string { return strings.TrimRight(s, "/") }
