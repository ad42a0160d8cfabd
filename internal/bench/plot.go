package bench

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// PlotFormats are the file extensions WritePlot draws.
var PlotFormats = []string{".svg", ".png"}

// PlotFormat returns the format a plot file's name asks for, or an error.
func PlotFormat(path string) (string, error) {
	ext := strings.ToLower(filepath.Ext(path))
	for _, f := range PlotFormats {
		if ext == f {
			return f, nil
		}
	}
	return "", fmt.Errorf("%q: the plot is drawn as .svg or .png", path)
}

// WritePlot draws the latency percentiles of every layout: a panel per
// operation of the mix (and one for GET /v1/products/{id} alone), with a
// group of bars per percentile, a bar per layout.
func (r *Report) WritePlot(w io.Writer, format string) error {
	panels, err := r.panels()
	if err != nil {
		return err
	}
	const cols = 2
	rows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, p := range panels {
		grid[i/cols][i%cols] = p
	}
	width, height := 9*vg.Inch, vg.Length(rows)*3*vg.Inch

	var canvas vg.CanvasWriterTo
	switch format {
	case ".svg":
		canvas = vgsvg.New(width, height)
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.New(width, height)}
	default:
		return fmt.Errorf("no plot format %q", format)
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	dc := draw.New(canvas)
	for j, row := range plot.Align(grid, tiles, dc) {
		for i, c := range row {
			if grid[j][i] != nil {
				grid[j][i].Draw(c)
			}
		}
	}
	_, err = canvas.WriteTo(w)
	return err
}

// panels makes one bar chart per operation.
func (r *Report) panels() ([]*plot.Plot, error) {
	var panels []*plot.Plot
	for _, op := range r.opNames() {
		p, err := r.panel(op, func(l *LayoutResult) *OpResult { return l.Op(op) })
		if err != nil {
			return nil, err
		}
		panels = append(panels, p)
	}
	if r.hasGetAlone() {
		p, err := r.panel("get alone", func(l *LayoutResult) *OpResult { return l.GetAlone })
		if err != nil {
			return nil, err
		}
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("nothing was measured to plot")
	}
	return panels, nil
}

func (r *Report) panel(title string, get func(*LayoutResult) *OpResult) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "latency (ms)"
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.NominalX("p50", "p90", "p99")
	var shown []int // indexes into r.Layouts: a layout keeps its colour in every panel
	for i := range r.Layouts {
		if get(&r.Layouts[i]) != nil {
			shown = append(shown, i)
		}
	}
	top := 0.0
	bar := vg.Points(60) / vg.Length(max(len(shown), 1))
	for k, i := range shown {
		lat := get(&r.Layouts[i]).Latency
		b, err := plotter.NewBarChart(plotter.Values{lat.P50, lat.P90, lat.P99}, bar)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", title, err)
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		b.Offset = vg.Length(float64(k)-float64(len(shown)-1)/2) * bar
		p.Add(b)
		p.Legend.Add(r.Layouts[i].Name, b)
		top = max(top, lat.P99)
	}
	p.Y.Max = top * 1.3 // room for the legend above the bars
	return p, nil
}
