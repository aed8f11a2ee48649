package natstest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/natstest"
)

// TestDeployConfigs checks that every configuration in deploy/nats is one
// nats-server accepts (nats-server -t), the secured ones with generated
// certificates in ./tls and every password variable set, run from their
// directory as docs/scale-out.md says.
func TestDeployConfigs(t *testing.T) {
	bin := natstest.Binary(t)
	root := filepath.Join("..", "..", "deploy", "nats")
	cases := []struct {
		dir     string
		secured bool
	}{{".", false}, {"secure", true}}
	for _, c := range cases {
		files, err := filepath.Glob(filepath.Join(root, c.dir, "n*.conf"))
		if err != nil || len(files) != 3 {
			t.Fatalf("%s: %d node files (%v), want 3", c.dir, len(files), err)
		}
		for _, f := range files {
			t.Run(filepath.Join(c.dir, filepath.Base(f)), func(t *testing.T) {
				work := t.TempDir()
				var env []string
				if c.secured {
					ents, err := os.ReadDir(filepath.Join(root, c.dir))
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range ents {
						b, err := os.ReadFile(filepath.Join(root, c.dir, e.Name()))
						if err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(filepath.Join(work, e.Name()), b, 0o600); err != nil {
							t.Fatal(err)
						}
					}
					tf := natstest.GenerateTLS(t)
					if err := os.MkdirAll(filepath.Join(work, "tls"), 0o700); err != nil {
						t.Fatal(err)
					}
					for src, dst := range map[string]string{tf.Cert: "node.pem", tf.Key: "node.key", tf.CA: "ca.pem"} {
						b, err := os.ReadFile(src)
						if err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(filepath.Join(work, "tls", dst), b, 0o600); err != nil {
							t.Fatal(err)
						}
					}
					for _, u := range []string{"ROVER", "ARM", "GATEWAY", "WORKER", "COLLECTOR"} {
						env = append(env, "GANTRY_NATS_"+u+"_PASS=x")
					}
				}
				conf, err := filepath.Abs(f)
				if err != nil {
					t.Fatal(err)
				}
				if c.secured {
					conf = filepath.Join(work, filepath.Base(f))
				}
				cmd := exec.Command(bin, "-t", "-c", conf)
				cmd.Dir = work
				cmd.Env = append(os.Environ(), env...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("nats-server -t -c %s: %v\n%s", f, err, out)
				}
				if !strings.Contains(string(out), " is valid") {
					t.Fatalf("nats-server -t -c %s said: %s", f, out)
				}
			})
		}
	}
}
