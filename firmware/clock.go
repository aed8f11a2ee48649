package firmware

import (
	"sort"
	"sync"
	"time"
)

// Clock is the device's time source: the time since the device booted, and
// timers on that time line.
type Clock interface {
	Now() time.Duration
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop cancels the call; it reports whether the call was still pending.
	Stop() bool
}

// RealClock returns a Clock that follows wall time from now on.
func RealClock() Clock { return ScaledClock(1) }

// ScaledClock returns a Clock running factor times faster than wall time
// (factor 10: a 800 ms drive takes 80 ms).
func ScaledClock(factor float64) Clock {
	if factor <= 0 {
		factor = 1
	}
	return &scaledClock{start: time.Now(), factor: factor}
}

type scaledClock struct {
	start  time.Time
	factor float64
}

func (c *scaledClock) Now() time.Duration {
	return time.Duration(float64(time.Since(c.start)) * c.factor)
}

func (c *scaledClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(time.Duration(float64(d)/c.factor), f)
}

// SimClock is a manual Clock for tests: time stands still until Advance
// moves it, running due timers in order on the caller's goroutine.
type SimClock struct {
	mu     sync.Mutex
	now    time.Duration
	seq    int
	timers []*simTimer
}

// NewSimClock returns a SimClock at time zero.
func NewSimClock() *SimClock { return &SimClock{} }

type simTimer struct {
	c   *SimClock
	at  time.Duration
	seq int
	f   func()
}

// Now returns the simulated time.
func (c *SimClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d.
func (c *SimClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d < 0 {
		d = 0
	}
	c.seq++
	t := &simTimer{c: c, at: c.now + d, seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *simTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Pending returns how many timers are scheduled.
func (c *SimClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Advance moves time forward by d, running every timer that falls due, in
// time order, including timers scheduled by those timers.
func (c *SimClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now + d
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			return a.at < b.at || a.at == b.at && a.seq < b.seq
		})
		if len(c.timers) == 0 || c.timers[0].at > target {
			c.now = target
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		c.now = t.at
		c.mu.Unlock()
		t.f()
	}
}
