//go:build !edge

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gantry-dev/gantry/internal/buildinfo"
	"github.com/gantry-dev/gantry/server"
)

// serverFlags are the flags serve and mcp share: the sessions' runtimes,
// limits and the MCP session's environment.
type serverFlags struct {
	cfg        server.Config
	mcpGame    string
	mcpSeed    int64
	mcpTask    string
	logJSON    bool
	logLevel   string
	maxCodeKiB int
	devs       serveDeviceFlags
}

func (f *serverFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.cfg.MaxSessions, "max-sessions", server.DefaultMaxSessions, "sessions alive at once")
	fs.DurationVar(&f.cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "end a session unused for this long")
	fs.DurationVar(&f.cfg.ActionTimeout, "timeout", server.DefaultActionTimeout, "wall-time limit of one code action")
	fs.Int64Var(&f.cfg.MaxBody, "max-body", server.DefaultMaxBody, "largest request body in bytes")
	fs.IntVar(&f.maxCodeKiB, "max-code", 1024, "largest code action in KiB")
	fs.BoolVar(&f.cfg.NoIsolate, "no-isolate", false, "run Starlark sessions in gantry's process instead of a worker process each (lighter; code escaping the sandbox's limits takes the server down)")
	fs.StringVar(&f.cfg.Python, "python", "", "Python interpreter of python sessions (default $GANTRY_PYTHON, else python3)")
	fs.BoolVar(&f.cfg.PythonNoIsolation, "python-no-isolation", false, "run Python workers without bubblewrap (unsafe)")
	fs.IntVar(&f.cfg.PythonPool, "python-pool", 0, "Python workers kept started for new python sessions")
	fs.StringVar(&f.cfg.MCP.Runtime, "mcp-runtime", "starlark", "runtime of MCP sessions: starlark or python")
	fs.StringVar(&f.mcpGame, "mcp-game", "", "ALFWorld game of MCP sessions, by id (default: one at random per session)")
	fs.Int64Var(&f.mcpSeed, "mcp-seed", 0, "generate the MCP sessions' game from this seed")
	fs.StringVar(&f.mcpTask, "mcp-task", "", "an M3ToolEval task (family/task) for MCP sessions instead of an ALFWorld game: run_code offers its tools")
	fs.BoolVar(&f.logJSON, "log-json", false, "log JSON lines instead of text")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.devs.register(fs)
}

// config completes the server's configuration; logs go to w.
func (f *serverFlags) config(w io.Writer) (server.Config, error) {
	cfg := f.cfg
	cfg.MaxCode = f.maxCodeKiB << 10
	cfg.MCP.Env = server.EnvSpec{Kind: "alfworld", Game: f.mcpGame, Seed: f.mcpSeed}
	if f.mcpTask != "" {
		if f.mcpGame != "" || f.mcpSeed != 0 {
			return cfg, errors.New("--mcp-task and --mcp-game/--mcp-seed: choose one")
		}
		cfg.MCP.Env = server.EnvSpec{Kind: "m3tooleval", Task: f.mcpTask}
	}
	cfg.Version = buildinfo.Version()
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return cfg, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if f.logJSON {
		cfg.Logger = slog.New(slog.NewJSONHandler(w, opts))
	} else {
		cfg.Logger = slog.New(slog.NewTextHandler(w, opts))
	}
	return cfg, nil
}

// errOpenBind refuses to serve a non-loopback address without tokens.
var errOpenBind = errors.New("refusing to serve a non-loopback address without --tokens: anyone who can reach it could run code; give --tokens FILE or bind 127.0.0.1")

// loopback reports whether addr (host:port) only accepts local clients.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func newServeCmd() *cobra.Command {
	var (
		sf                 serverFlags
		addr, tokens, unix string
		tlsCert, tlsKey    string
		grace, readTimeout time.Duration
		readHeaderTimeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the sessions API over HTTP, MCP at /mcp, /metrics, /healthz and /readyz",
		Long: `serve runs gantry as a service: clients create sessions (a task environment
and a code runtime) and act in them over HTTP (see docs/server.md and
/openapi.json), or through MCP over streamable HTTP at /mcp. SIGTERM drains:
new sessions are refused, running actions get --drain to finish and are then
interrupted, every session ends, and gantry exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := sf.config(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if tokens != "" {
				if cfg.Tokens, err = server.LoadTokens(tokens); err != nil {
					return err
				}
			} else if !loopback(addr) {
				return errOpenBind
			}
			if (tlsCert == "") != (tlsKey == "") {
				return errors.New("--tls-cert and --tls-key go together")
			}
			closeDevices, err := sf.devs.connect(cmd.Context(), &cfg, cmd.OutOrStdout(), sf.mcpGame != "" || sf.mcpSeed != 0)
			if err != nil {
				return err
			}
			defer closeDevices()
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			var unixLn net.Listener
			if unix != "" {
				if unixLn, err = listenUnix(unix); err != nil {
					ln.Close()
					return err
				}
			}
			scheme := "http"
			if tlsCert != "" {
				scheme = "https"
			}
			hs := &http.Server{
				Handler:           srv.Handler(),
				ReadHeaderTimeout: readHeaderTimeout,
				ReadTimeout:       readTimeout,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    64 << 10,
				ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
			}
			ctx := cmd.Context()
			go sweep(ctx, srv, cfg.IdleTimeout)
			served := make(chan error, 2)
			go func() {
				if tlsCert != "" {
					served <- hs.ServeTLS(ln, tlsCert, tlsKey)
				} else {
					served <- hs.Serve(ln)
				}
			}()
			fmt.Fprintf(cmd.OutOrStdout(), "gantry: serving on %s://%s\n", scheme, ln.Addr())
			if unixLn != nil {
				go func() { served <- hs.Serve(unixLn) }() // plain HTTP: the socket file's mode guards it
				fmt.Fprintf(cmd.OutOrStdout(), "gantry: serving on unix:%s\n", unix)
			}
			cfg.Logger.Info("serving", "addr", ln.Addr().String(), "tls", tlsCert != "", "tokens", cfg.Tokens != nil)
			select {
			case err := <-served:
				return fmt.Errorf("serve: %w", err)
			case <-ctx.Done():
			}
			cfg.Logger.Info("draining", "grace", grace)
			srv.BeginDrain()
			dctx, cancel := context.WithTimeout(context.Background(), grace)
			err = hs.Shutdown(dctx)
			cancel()
			if err != nil {
				cfg.Logger.Warn("grace period over: interrupting running actions")
				srv.StopActions()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if hs.Shutdown(sctx) != nil {
					hs.Close()
				}
				cancel()
			}
			err = srv.Close()
			cfg.Logger.Info("stopped", "err", err)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks one)")
	f.StringVar(&unix, "unix", "", "also serve the same API on this Unix socket (mode 0600; for local clients, which skip TCP)")
	f.StringVar(&tokens, "tokens", "", "bearer tokens file (YAML); required for a non-loopback --addr")
	f.StringVar(&tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&tlsKey, "tls-key", "", "TLS key file (PEM)")
	f.DurationVar(&grace, "drain", 30*time.Second, "on SIGTERM, how long running actions may take before they are interrupted")
	f.DurationVar(&readHeaderTimeout, "read-header-timeout", 10*time.Second, "time to read a request's headers")
	f.DurationVar(&readTimeout, "read-timeout", time.Minute, "time to read a whole request")
	sf.register(f)
	return cmd
}

// sweep ends idle sessions until ctx ends.
func sweep(ctx context.Context, srv *server.Server, idle time.Duration) {
	every := min(idle/10, time.Minute)
	t := time.NewTicker(max(every, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			srv.Sweep()
		}
	}
}
