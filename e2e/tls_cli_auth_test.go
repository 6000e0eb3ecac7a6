package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsync/opsync/client"
	"github.com/opsync/opsync/internal/auth"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their files and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "opsync test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With --tls-cert and --tls-key the node serves HTTPS and WSS only: the
// admin and push APIs over HTTPS, the Go client over WSS with
// Options.TLSConfig, the CLI with SSL_CERT_FILE; plain HTTP is refused.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	srv := startServer(t, t.TempDir(), "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatalf("listening URL %q", srv.URL)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	do := func(method, path, body string, hdr map[string]string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	admin := map[string]string{"Authorization": "Bearer " + adminToken}
	st, created := do("POST", "/api/v1/instances", `{"instanceId":"ws_TLS"}`, admin)
	if st != 201 {
		t.Fatalf("create over HTTPS: %d %v", st, created)
	}
	in := created["instance"].(map[string]any)
	if st, m := do("PUT", "/api/v1/instances/ws_TLS/biztypes/CHAT", `{}`, admin); st != 200 {
		t.Fatalf("put config: %d %v", st, m)
	}

	up := make(chan struct{})
	var once sync.Once
	msgs := make(chan client.Message, 10)
	tok, _ := auth.SignHS256(auth.Claims{Subject: "alice", Instance: "ws_TLS", ExpiresAt: time.Now().Add(time.Hour).Unix()}, []byte(in["clientSecret"].(string)))
	c, err := client.New(client.Options{Server: srv.URL, InstanceID: "ws_TLS", TLSConfig: &tls.Config{RootCAs: pool}, Token: tok,
		OnStateChange: func(ok bool) {
			if ok {
				once.Do(func() { close(up) })
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.RegisterBiz("CHAT", func(m client.Message) { msgs <- m; c.ReportMsgReceived(m) })
	c.UpdateUserInfo("alice", "s")
	c.AppToForeground()
	select {
	case <-up:
	case <-time.After(30 * time.Second):
		t.Fatal("the client did not connect over WSS")
	}
	if st, m := do("POST", "/webapi/sync/single?instanceId=ws_TLS", `{"bizType":"CHAT","linkToken":"alice","thirdMsgId":"m1","payload":"secure"}`,
		map[string]string{"X-Opsync-Api-Key": in["apiKey"].(string)}); st != 200 || m["msg"] != "SUCCESS" {
		t.Fatalf("push over HTTPS: %d %v", st, m)
	}
	select {
	case m := <-msgs:
		if m.Payload != "secure" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nothing delivered over WSS")
	}

	// Plain HTTP to the TLS port gets no API answer.
	resp, err := http.Get("http://" + strings.TrimPrefix(srv.URL, "https://") + "/healthz")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("plain HTTP answered 200: %s", body)
		}
	}
	// An untrusting client is refused.
	if _, err := http.Get(srv.URL + "/healthz"); err == nil {
		t.Fatal("a client that does not trust the certificate connected")
	}
	// The CLI trusts the certificate through SSL_CERT_FILE.
	cmd := exec.Command(opsyncBin, "config", "list", "--server", srv.URL, "--instance", "ws_TLS")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+certFile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), `"CHAT"`) {
		t.Fatalf("config list over HTTPS: %v %s %s", err, out.String(), errb.String())
	}
}

// The CLI's instance, push (--api-key or through the admin API), tail
// (--token) and operations (alias oplog) commands.
func TestCLIInstancesKeysTokensAndOperations(t *testing.T) {
	srv := startServer(t, t.TempDir())
	s := []string{"--server", srv.URL, "--instance", "ws_CLIAUTH"}
	cli := func(wantCode int, args ...string) map[string]any {
		t.Helper()
		out, errOut, code := run(t, args...)
		if code != wantCode {
			t.Fatalf("opsync %v: exit %d, want %d: %s %s", args, code, wantCode, out, errOut)
		}
		var m map[string]any
		if wantCode != 2 && out != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Fatalf("opsync %v printed %q, not one JSON line", args, out)
			}
		}
		return m
	}
	created := cli(0, append([]string{"instance", "create"}, s...)...)["instance"].(map[string]any)
	if created["instanceId"] != "ws_CLIAUTH" || created["apiKey"] == "" || created["clientSecret"] == "" {
		t.Fatalf("instance create printed %v", created)
	}
	got := cli(0, append([]string{"instance", "get"}, s...)...)["instance"].(map[string]any)
	// The keys are printed once: get shows their first characters only.
	if _, shown := got["apiKey"]; shown || got["apiKeyPrefix"] != created["apiKey"].(string)[:6] {
		t.Fatalf("instance get printed %v", got)
	}
	if list := cli(0, "instance", "list", "--server", srv.URL)["instances"].([]any); len(list) != 1 {
		t.Fatalf("instance list: %v", list)
	}
	cli(1, append([]string{"instance", "create"}, s...)...) // exists
	rot := cli(0, append([]string{"instance", "rotate-keys", "--operator", "carol"}, s...)...)["instance"].(map[string]any)
	if rot["apiKey"] == created["apiKey"] {
		t.Fatal("rotate-keys kept the key")
	}
	key, secret := rot["apiKey"].(string), rot["clientSecret"].(string)
	settings := cli(0, append([]string{"instance", "settings", "--require-token=true", "--signature-check", "off"}, s...)...)["settings"].(map[string]any)
	if settings["requireToken"] != true || settings["signatureCheck"] != false {
		t.Fatalf("settings: %v", settings)
	}
	if cur := cli(0, append([]string{"instance", "settings"}, s...)...)["settings"].(map[string]any); cur["requireToken"] != true {
		t.Fatalf("settings read back: %v", cur)
	}
	cli(2, append([]string{"instance", "settings", "--signature-check", "maybe"}, s...)...)
	cli(0, append([]string{"config", "put", "--biz", "CHAT", "--operator", "carol"}, s...)...)

	// push with the API key, with a wrong one, and through the admin API.
	if a := cli(0, append([]string{"push", "--api-key", key, "--biz", "CHAT", "--link-token", "u1", "--msg-id", "k1", "--payload", "by key"}, s...)...); a["msg"] != "SUCCESS" {
		t.Fatalf("push --api-key: %v", a)
	}
	if a := cli(1, append([]string{"push", "--api-key", "wrong", "--biz", "CHAT", "--link-token", "u1", "--msg-id", "k2", "--payload", "x"}, s...)...); a["msg"] != "UNAUTHORIZED" {
		t.Fatalf("push with a wrong key: %v", a)
	}
	if a := cli(0, append([]string{"push", "--biz", "CHAT", "--link-token", "u1", "--msg-id", "k3", "--payload", "by admin", "--operator", "dave"}, s...)...); a["msg"] != "SUCCESS" {
		t.Fatalf("push through the admin API: %v", a)
	}

	// tail needs a token now (requireToken), and gets both pushes with it.
	tok, _ := auth.SignHS256(auth.Claims{Subject: "u1", Instance: "ws_CLIAUTH", ExpiresAt: time.Now().Add(time.Hour).Unix()}, []byte(secret))
	_, errOut, code := run(t, append([]string{"tail", "--user", "u1", "--biz", "CHAT", "--count", "1"}, s...)...)
	if code != 1 || !strings.Contains(errOut, "4401") {
		t.Fatalf("tail without a token: exit %d %s", code, errOut)
	}
	lines := startTail(t, srv.URL, "ws_CLIAUTH", "--user", "u1", "--biz", "CHAT", "--count", "2", "--token", tok).collect(t, time.Minute)
	if lines[0].Payload != "by key" || lines[1].Payload != "by admin" {
		t.Fatalf("tail: %+v", lines)
	}

	// operations: newest first, filtered.
	all := cli(0, append([]string{"operations"}, s...)...)["operations"].([]any)
	var actions []string
	for _, o := range all {
		actions = append(actions, o.(map[string]any)["action"].(string))
	}
	want := "CREATE_PUSH CREATE_CONFIG MODIFY_SETTINGS SIGNATURE_OFF ROTATE_KEYS CREATE_INSTANCE"
	if strings.Join(actions, " ") != want {
		t.Fatalf("operations actions %v, want %s", actions, want)
	}
	pushes := cli(0, append([]string{"operations", "--action", "CREATE_PUSH", "--operator", "dave"}, s...)...)["operations"].([]any)
	if len(pushes) != 1 {
		t.Fatalf("dave's pushes: %v", pushes)
	}
	d := pushes[0].(map[string]any)["details"].(map[string]any)
	if d["linkToken"] != "u1" || d["thirdMsgId"] != "k3" || d["payload"] != "by admin" || d["msg"] != "SUCCESS" {
		t.Fatalf("push details %v", d)
	}
	// --biz-type keeps the rows about CHAT: its config and its push.
	chat := cli(0, append([]string{"operations", "--biz-type", "CHAT"}, s...)...)["operations"].([]any)
	if len(chat) != 2 || chat[0].(map[string]any)["action"] != "CREATE_PUSH" || chat[1].(map[string]any)["action"] != "CREATE_CONFIG" {
		t.Fatalf("operations --biz-type CHAT: %v", chat)
	}
	// oplog is a deprecated alias of operations.
	if none := cli(0, append([]string{"oplog", "--operator", "nobody"}, s...)...)["operations"].([]any); len(none) != 0 {
		t.Fatalf("nobody's operations: %v", none)
	}
}
