// Tiny hand-written SVG charts for the benchmark reports (no dependency):
// grouped bar charts and line charts with labelled axes.
#pragma once

#include <string>
#include <vector>

namespace lookahead::cli {

struct BarGroup {
  std::string label;            // x-axis group label (e.g. a dataset)
  std::vector<double> values;   // one per series
};

struct LineSeries {
  std::string name;
  std::vector<double> x, y;
  bool dashed = false;
};

// Grouped bars: one colour per series name; a horizontal reference line at
// `ref` (e.g. 1.0 = no speedup) when ref > 0.
std::string svg_bar_chart(const std::string& title, const std::string& y_label,
                          const std::vector<std::string>& series, const std::vector<BarGroup>& groups, double ref);

// Lines over a log2 x axis (batch sizes) and linear y.
std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<LineSeries>& series);

void write_text_file(const std::string& path, const std::string& text);

}  // namespace lookahead::cli
