package console

import "strconv"

// chart is a bar chart drawn as SVG on the server: no script, no outside library.
type chart struct {
	Title  string
	Width  int
	Height int
	Bars   []bar
	Max    int
	Total  int
	Labels []axisLabel
}

type bar struct {
	X, Y, W, H int
	Label      string
	Value      int
}

type axisLabel struct {
	X    int
	Text string
}

const chartPlotHeight = 120

func barChart(title string, labels []string, values []int) chart {
	c := chart{Title: title, Height: chartPlotHeight + 40}
	for _, v := range values {
		c.Max = max(c.Max, v)
		c.Total += v
	}
	step := 16
	if len(values) <= 5 {
		step = 170
	}
	c.Width = 40 + step*len(values)
	for i, v := range values {
		h := 0
		if c.Max > 0 {
			h = v * chartPlotHeight / c.Max
		}
		if v > 0 && h < 2 {
			h = 2
		}
		x := 36 + i*step
		c.Bars = append(c.Bars, bar{X: x, Y: 10 + chartPlotHeight - h, W: step - 6, H: h, Label: labels[i], Value: v})
		// Every fifth day is labelled on a 30-day axis; every bar on a short one.
		if len(values) <= 5 || i%5 == 0 {
			c.Labels = append(c.Labels, axisLabel{X: x + (step-6)/2, Text: labels[i]})
		}
	}
	return c
}

// MaxLabel is the value of the chart's top line.
func (c chart) MaxLabel() string { return strconv.Itoa(c.Max) }
