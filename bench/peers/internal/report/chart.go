package report

import (
	"fmt"
	"image/color"
	"os"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sluice-dev/sluice/bench/peers/internal/contender"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

// family colours: one per runtime, so a reader finds Sluice's bars at a glance.
func family(name string) color.Color {
	switch {
	case strings.HasPrefix(name, "sluice"):
		return color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	case strings.HasPrefix(name, "franz"):
		return color.RGBA{0x7f, 0x7f, 0x7f, 0xff}
	case strings.HasPrefix(name, "pc-"):
		return color.RGBA{0xff, 0x7f, 0x0e, 0xff}
	case strings.HasPrefix(name, "streams"):
		return color.RGBA{0x2c, 0xa0, 0x2c, 0xff}
	default:
		return color.RGBA{0x94, 0x67, 0xbd, 0xff}
	}
}

// Chart writes a PNG with one row per workload and two panels per row:
// median records/s, and median contender CPU ms per 1,000 records. Bars
// are labelled with their value, and with "timeout" or "n/a" where that is
// what the table says.
func Chart(path string, ws []workload.Workload, cs []contender.Contender, cells []Cell) error {
	rows := make([][]*plot.Plot, len(ws))
	for i, w := range ws {
		var mine []Cell
		for _, c := range cells {
			if c.Workload.Name == w.Name {
				mine = append(mine, c)
			}
		}
		rate, err := panel(w.String(), "records/s (median)", mine, func(c Cell) (float64, bool) { m, _, ok := c.Rate(); return m, ok })
		if err != nil {
			return err
		}
		cpu, err := panel(w.Name+": contender CPU", "CPU ms per 1,000 records (median)", mine, func(c Cell) (float64, bool) { m, _, ok := c.CPUPer1k(); return m, ok })
		if err != nil {
			return err
		}
		rows[i] = []*plot.Plot{rate, cpu}
	}
	width, height := 15*vg.Inch, vg.Length(len(ws))*3.2*vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(96))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(ws), Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 6}
	canvases := plot.Align(rows, tiles, dc)
	for i := range rows {
		for j := range rows[i] {
			rows[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return f.Close()
}

func panel(title, xlabel string, cells []Cell, value func(Cell) (float64, bool)) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.X.Min = 0
	names := make([]string, len(cells))
	var xys plotter.XYs
	var labels []string
	var top float64
	for i, c := range cells {
		// Bottom to top in table order.
		at := float64(len(cells) - 1 - i)
		names[len(cells)-1-i] = c.Contender.Name
		v, ok := value(c)
		text := "n/a"
		if ok {
			text = compact(v)
			if strings.HasPrefix(c.Status(), "timeout") {
				text += " (timeout)"
			} else if c.Status() != "ok" {
				text += " (" + strings.SplitN(c.Status(), ":", 2)[0] + ")"
			}
			bar, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(11))
			if err != nil {
				return nil, err
			}
			bar.Horizontal, bar.XMin, bar.Color = true, at, family(c.Contender.Name)
			bar.LineStyle.Width = 0
			p.Add(bar)
			top = max(top, v)
		}
		xys = append(xys, plotter.XY{X: v, Y: at})
		labels = append(labels, " "+text)
	}
	p.NominalY(names...)
	p.X.Max = top * 1.3 // room for the labels
	if top == 0 {
		p.X.Max = 1
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].YAlign = draw.YCenter
		l.TextStyle[i].Font.Size = vg.Points(8)
	}
	p.Add(l)
	return p, nil
}

func compact(v float64) string {
	switch {
	case v >= 10_000:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
