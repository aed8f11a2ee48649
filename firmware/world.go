package firmware

import "math"

// World is the rover's 2D arena: a rectangle [0,Width]x[0,Height] (metres)
// with walls around it, obstacles inside, and small items the gripper can
// pick up. Items do not block motion or the distance sensor.
type World struct {
	Width, Height float64
	Boxes         []Box
	Posts         []Post
	Items         []Item
}

// Box is an axis-aligned rectangular obstacle.
type Box struct {
	Name                   string
	MinX, MinY, MaxX, MaxY float64
}

// Post is a round obstacle.
type Post struct {
	Name    string
	X, Y, R float64
}

// Item is an object on the floor that the gripper can grab.
type Item struct {
	Name string
	X, Y float64
}

// Pose is the rover's position (metres) and heading (degrees,
// counter-clockwise from the +x axis, in (-180, 180]).
type Pose struct {
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Heading float64 `json:"heading"`
}

// DefaultWorld returns the standard 4 m x 3 m arena: a crate ahead of the
// start pose, a post, and two items (a ball and a cube).
func DefaultWorld() World {
	return World{
		Width: 4, Height: 3,
		Boxes: []Box{{Name: "crate", MinX: 2.6, MinY: 1.2, MaxX: 3.0, MaxY: 1.8}},
		Posts: []Post{{Name: "post", X: 1.2, Y: 2.4, R: 0.15}},
		Items: []Item{{Name: "ball", X: 1.6, Y: 1.5}, {Name: "cube", X: 3.4, Y: 0.6}},
	}
}

// DefaultStart is where the rover starts in DefaultWorld: facing +x (the
// crate, 2.0 m ahead of the rover's front).
var defaultStart = Pose{X: 0.5, Y: 1.5, Heading: 0}

// Rover geometry and limits.
const (
	roverRadius = 0.1 // m
	sensorRange = 4.0 // m
	gripReach   = 0.2 // m from the front of the rover
	simStep     = 0.01
)

// collides reports whether a rover centred at (x, y) touches a wall or an
// obstacle.
func (w *World) collides(x, y float64) bool {
	r := roverRadius
	if x-r < 0 || y-r < 0 || x+r > w.Width || y+r > w.Height {
		return true
	}
	for _, b := range w.Boxes {
		cx := math.Max(b.MinX, math.Min(x, b.MaxX))
		cy := math.Max(b.MinY, math.Min(y, b.MaxY))
		if (x-cx)*(x-cx)+(y-cy)*(y-cy) < r*r {
			return true
		}
	}
	for _, p := range w.Posts {
		if math.Hypot(x-p.X, y-p.Y) < r+p.R {
			return true
		}
	}
	return false
}

// ray returns the distance from (x, y) along heading (radians) to the
// first wall or obstacle, or +Inf.
func (w *World) ray(x, y, h float64) float64 {
	dx, dy := math.Cos(h), math.Sin(h)
	best := math.Inf(1)
	// Walls: the arena's inside faces.
	if dx > 1e-12 {
		best = math.Min(best, (w.Width-x)/dx)
	} else if dx < -1e-12 {
		best = math.Min(best, -x/dx)
	}
	if dy > 1e-12 {
		best = math.Min(best, (w.Height-y)/dy)
	} else if dy < -1e-12 {
		best = math.Min(best, -y/dy)
	}
	for _, b := range w.Boxes {
		if t, ok := rayBox(x, y, dx, dy, b); ok && t < best {
			best = t
		}
	}
	for _, p := range w.Posts {
		if t, ok := rayCircle(x, y, dx, dy, p); ok && t < best {
			best = t
		}
	}
	return math.Max(best, 0)
}

func rayBox(x, y, dx, dy float64, b Box) (float64, bool) {
	tmin, tmax := math.Inf(-1), math.Inf(1)
	for _, ax := range [2][3]float64{{x, dx, 0}, {y, dy, 1}} {
		o, d := ax[0], ax[1]
		lo, hi := b.MinX, b.MaxX
		if ax[2] == 1 {
			lo, hi = b.MinY, b.MaxY
		}
		if math.Abs(d) < 1e-12 {
			if o < lo || o > hi {
				return 0, false
			}
			continue
		}
		t1, t2 := (lo-o)/d, (hi-o)/d
		if t1 > t2 {
			t1, t2 = t2, t1
		}
		tmin, tmax = math.Max(tmin, t1), math.Min(tmax, t2)
	}
	if tmax < math.Max(tmin, 0) {
		return 0, false
	}
	return math.Max(tmin, 0), true
}

func rayCircle(x, y, dx, dy float64, p Post) (float64, bool) {
	fx, fy := x-p.X, y-p.Y
	b := fx*dx + fy*dy
	c := fx*fx + fy*fy - p.R*p.R
	disc := b*b - c
	if disc < 0 {
		return 0, false
	}
	t := -b - math.Sqrt(disc)
	if t < 0 {
		t = -b + math.Sqrt(disc)
		if t < 0 {
			return 0, false
		}
		return 0, true // inside the post
	}
	return t, true
}
