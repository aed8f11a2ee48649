package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/tool"
)

// pyPool keeps Python workers started before any session asks for one. A
// worker learns its tools' names and signatures when it starts, so a pooled
// worker is started with forwarding tools: the signatures of the
// environment kind's tools, whose calls go to the registry of the session
// that takes the worker (bound when it does).
type pyPool struct {
	s    *Server
	kind string
	size int
	tmpl *tool.Registry // the kind's tools, for their signatures

	ready chan *pooled
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	fill  chan struct{} // wakes the filler
}

// pooled is a started worker and the registry its calls go to.
type pooled struct {
	rt     *bridge.Session
	target atomic.Pointer[tool.Registry]
}

func newPyPool(s *Server, size int) (*pyPool, error) {
	env, err := s.envs.make(EnvSpec{Kind: s.cfg.MCP.Env.Kind, Game: s.cfg.MCP.Env.Game, Seed: s.cfg.MCP.Env.Seed, Task: s.cfg.MCP.Env.Task})
	if err != nil {
		return nil, fmt.Errorf("python pool: %w", err)
	}
	tmpl := tool.NewRegistry()
	if err := env.RegisterTools(tmpl); err != nil {
		return nil, fmt.Errorf("python pool: %w", err)
	}
	p := &pyPool{s: s, kind: env.Info().Kind, size: size, tmpl: tmpl,
		ready: make(chan *pooled, size), fill: make(chan struct{}, 1)}
	p.ctx, p.stop = context.WithCancel(context.Background())
	p.wg.Add(1)
	go p.filler()
	return p, nil
}

// filler keeps the pool full, one worker at a time.
func (p *pyPool) filler() {
	defer p.wg.Done()
	for {
		for len(p.ready) < p.size {
			w, err := p.start()
			if err != nil {
				p.s.log.Error("python pool: cannot start a worker", "err", err)
				break
			}
			select {
			case p.ready <- w:
				p.s.metrics.poolReady.Set(float64(len(p.ready)))
				if p.s.cfg.onPoolFill != nil {
					p.s.cfg.onPoolFill()
				}
			default:
				w.rt.Close()
			}
		}
		select {
		case <-p.ctx.Done():
			return
		case <-p.fill:
		}
	}
}

func (p *pyPool) start() (*pooled, error) {
	w := &pooled{}
	reg := tool.NewRegistry()
	for _, t := range p.tmpl.Tools() {
		name := t.Name
		nt := *t
		nt.Refused = nil
		nt.Fn = func(ctx context.Context, args tool.Args) (any, error) {
			target := w.target.Load()
			if target == nil {
				return nil, &tool.NotFoundError{Name: name}
			}
			real, ok := target.Lookup(name)
			if !ok {
				return nil, &tool.NotFoundError{Name: name}
			}
			return real.Fn(ctx, args)
		}
		if err := reg.Register(nt); err != nil {
			return nil, err
		}
	}
	rt, err := bridge.New(p.ctx, reg, p.s.bridgeOptions())
	if err != nil {
		return nil, err
	}
	w.rt = rt
	return w, nil
}

// get takes a started worker and binds its tools to reg; ok is false when
// none is ready (the caller starts one itself) or reg's tools are not the
// pool's.
func (p *pyPool) get(reg *tool.Registry) (codeRuntime, func(), bool) {
	if !sameTools(reg, p.tmpl) {
		return nil, nil, false
	}
	select {
	case w := <-p.ready:
		p.s.metrics.poolReady.Set(float64(len(p.ready)))
		select {
		case p.fill <- struct{}{}:
		default:
		}
		w.target.Store(reg)
		return w.rt, func() { w.target.Store(nil) }, true
	default:
		return nil, nil, false
	}
}

// sameTools reports whether a and b have tools of the same names and
// signatures in the same order.
func sameTools(a, b *tool.Registry) bool {
	ta, tb := a.Tools(), b.Tools()
	if len(ta) != len(tb) {
		return false
	}
	for i := range ta {
		if ta[i].Name != tb[i].Name || ta[i].Signature() != tb[i].Signature() {
			return false
		}
	}
	return true
}

func (p *pyPool) close() {
	p.stop()
	p.wg.Wait()
	for {
		select {
		case w := <-p.ready:
			w.rt.Close()
		default:
			return
		}
	}
}
