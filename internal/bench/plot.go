package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"path/filepath"
	"strings"
)

// The plot is a small SVG written here rather than drawn with a plotting
// library: one took 7 MB of fonts and renderers into the binary for a
// few dozen bars.

// PlotFormats are the file extensions WritePlot draws.
var PlotFormats = []string{".svg"}

// PlotFormat returns the format a plot file's name asks for, or an error.
func PlotFormat(path string) (string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	for _, f := range PlotFormats {
		if ext == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("%q: the plot is drawn as .svg", path)
}

// palette gives each layout the same colour in every panel.
var palette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948"}

// The size of one panel, and the margins of its chart inside it.
const (
	panelW, panelH                     = 440.0, 270.0
	marginL, marginR, marginT, marginB = 52.0, 12.0, 56.0, 28.0
	plotCols                           = 2
)

// panelData is what one panel shows: the latencies of each layout that
// measured the operation.
type panelData struct {
	title string
	bars  []panelBar
}

type panelBar struct {
	layout int // index into Report.Layouts, for its colour
	name   string
	lat    Latency
}

// WritePlot draws the latency percentiles of every layout: a panel per
// operation of the mix (and one for GET /v1/products/{id} alone), with a
// group of bars per percentile, a bar per layout.
func (r *Report) WritePlot(w io.Writer, format string) error {
	if format != ".svg" {
		return fmt.Errorf("no plot format %q", format)
	}
	var panels []panelData
	for _, op := range r.opNames() {
		panels = append(panels, r.panel(op, func(l *LayoutResult) *OpResult { return l.Op(op) }))
	}
	if r.hasGetAlone() {
		panels = append(panels, r.panel("get alone", func(l *LayoutResult) *OpResult { return l.GetAlone }))
	}
	if len(panels) == 0 {
		return fmt.Errorf("nothing was measured to plot")
	}
	rows := (len(panels) + plotCols - 1) / plotCols
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n",
		panelW*plotCols, panelH*float64(rows))
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	for i, p := range panels {
		drawPanel(&b, p, float64(i%plotCols)*panelW, float64(i/plotCols)*panelH)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) panel(title string, get func(*LayoutResult) *OpResult) panelData {
	p := panelData{title: title}
	for i := range r.Layouts {
		if op := get(&r.Layouts[i]); op != nil {
			p.bars = append(p.bars, panelBar{layout: i, name: r.Layouts[i].Name, lat: op.Latency})
		}
	}
	return p
}

// drawPanel draws one panel with its top left corner at x0, y0.
func drawPanel(b *strings.Builder, p panelData, x0, y0 float64) {
	left, right := x0+marginL, x0+panelW-marginR
	top, bottom := y0+marginT, y0+panelH-marginB
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="13" font-weight="bold">%s</text>`+"\n", left, y0+18, html.EscapeString(p.title))
	for i, bar := range p.bars { // the legend, under the title
		lx := left + float64(i)*100
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			lx, y0+28, palette[bar.layout%len(palette)], lx+14, y0+37, html.EscapeString(bar.name))
	}

	highest := 0.0
	for _, bar := range p.bars {
		highest = max(highest, bar.lat.P99)
	}
	step := niceStep(highest / 4)
	ceiling := math.Max(step, math.Ceil(highest/step)*step)
	y := func(v float64) float64 { return bottom - v/ceiling*(bottom-top) }
	for v := 0.0; v <= ceiling+step/2; v += step { // the y axis: a line and a label per step
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+
			`<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, y(v), right, y(v), left-4, y(v)+4, formatTick(v))
	}
	fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">latency (ms)</text>`+"\n",
		x0+12, (top+bottom)/2)

	groupW := (right - left) / 3
	barW := groupW * 0.7 / float64(max(len(p.bars), 1))
	for g, name := range []string{"p50", "p90", "p99"} {
		gx := left + float64(g)*groupW + groupW*0.15
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", left+(float64(g)+0.5)*groupW, bottom+16, name)
		for k, bar := range p.bars {
			v := []float64{bar.lat.P50, bar.lat.P90, bar.lat.P99}[g]
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.2f ms</title></rect>`+"\n",
				gx+float64(k)*barW, y(v), barW, bottom-y(v), palette[bar.layout%len(palette)],
				html.EscapeString(bar.name), name, v)
		}
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, bottom, right, bottom)
}

// niceStep rounds up to 1, 2 or 5 times a power of ten, so the axis reads
// in round numbers.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*pow {
			return m * pow
		}
	}
	return 10 * pow
}

func formatTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
