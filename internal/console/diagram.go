package console

import (
	"fmt"
	"slices"

	"github.com/bazaar-shop/bazaar/modules"
)

// diagram is the layout drawn as SVG, server-side: a box per module, left
// to right from callers to what they call, and an arrow per edge — solid
// when the call stays in one process, dashed when it crosses the network.
type diagram struct {
	Width, Height int
	Nodes         []node
	Arrows        []arrow
}

type node struct {
	X, Y, W, H int
	Name       string
	Where      string
	Class      string // local, remote, down
}

type arrow struct {
	Path   string
	LabelX int
	LabelY int
	Label  string
	Class  string // local, wire or remote: a call's mode (cached calls are not drawn)
}

// Geometry of the drawing, in SVG units.
const (
	boxW, boxH = 150, 64
	gap        = 110
	margin     = 20
	rowY       = 150 // the boxes' top: room above and below for arcs
)

// columns orders the modules from those that call the most to those that
// call nothing: each module stands left of everything it calls.
func columns() []modules.Module {
	depth := map[modules.Module]int{}
	var longest func(m modules.Module) int
	longest = func(m modules.Module) int {
		if d, ok := depth[m]; ok {
			return d
		}
		d := 0
		for _, n := range m.Needs() {
			d = max(d, 1+longest(n))
		}
		depth[m] = d
		return d
	}
	order := modules.All()
	for _, m := range order {
		longest(m)
	}
	slices.SortStableFunc(order, func(a, b modules.Module) int { return depth[b] - depth[a] })
	return order
}

func draw(mods []moduleView, edges []EdgeView) diagram {
	order := columns()
	d := diagram{Width: 2*margin + len(order)*boxW + (len(order)-1)*gap, Height: 2*rowY + boxH}
	at := map[string]int{} // module → column
	for i, m := range order {
		at[string(m)] = i
		class := "local"
		where := ""
		for _, mv := range mods {
			if mv.Name == string(m) {
				where = mv.Where
				switch {
				case !mv.Ready:
					class = "down"
				case mv.Mode == "remote":
					class = "remote"
				}
			}
		}
		d.Nodes = append(d.Nodes, node{X: x(i), Y: rowY, W: boxW, H: boxH, Name: string(m), Where: where, Class: class})
	}
	for k, e := range edges {
		from, okFrom := at[e.Caller]
		to, okTo := at[e.Callee]
		// A call its client answered from memory crossed nothing: the
		// table lists it; the drawing keeps the lines that were crossed.
		if !okFrom || !okTo || from == to || e.Mode == modeCached {
			continue
		}
		label := "" // the line's style says local or remote; the label, how busy
		if e.Rate >= 0 {
			label = fmt.Sprintf("%s · p99 %s", perSecond(e.Rate), ms(e.P99))
		}
		a := arrow{Label: label, Class: e.Mode}
		span := to - from
		if span < 0 {
			span = -span
		}
		x1, x2 := x(from)+boxW/2, x(to)+boxW/2
		switch {
		case span == 1:
			// Neighbours: a straight arrow between the boxes, its label above.
			y := rowY + boxH/2
			a.Path = fmt.Sprintf("M %d %d L %d %d", x(from)+boxW, y, x(to), y)
			a.LabelX, a.LabelY = (x(from)+boxW+x(to))/2, y-8
		case k%2 == 0:
			// Further: an arc over the boxes in between.
			lift := 40 * span
			a.Path = fmt.Sprintf("M %d %d Q %d %d %d %d", x1, rowY, (x1+x2)/2, rowY-lift, x1+(x2-x1)-4, rowY)
			a.LabelX, a.LabelY = (x1+x2)/2, rowY-lift/2-4
		default:
			// Or under them, so that arcs do not lie on each other.
			drop := 40 * span
			a.Path = fmt.Sprintf("M %d %d Q %d %d %d %d", x1, rowY+boxH, (x1+x2)/2, rowY+boxH+drop, x1+(x2-x1)-4, rowY+boxH)
			a.LabelX, a.LabelY = (x1+x2)/2, rowY+boxH+drop/2+12
		}
		d.Arrows = append(d.Arrows, a)
	}
	return d
}

func x(column int) int { return margin + column*(boxW+gap) }
