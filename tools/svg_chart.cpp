#include "svg_chart.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "util/error.h"

namespace lookahead::cli {
namespace {

const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

double nice_max(double v) {
  if (v <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

// Opening tag, white background and centred title shared by both charts.
std::string svg_begin(double W, double H, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"13\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"28\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\">{}</text>\n",
      W, H, W / 2, esc(title));
}

// Five horizontal grid lines with value labels from 0 to vmax.
template <typename YPix>
std::string y_grid(double L, double right, double vmax, YPix ypix) {
  std::string s;
  for (int i = 0; i <= 5; ++i) {
    const double v = vmax * i / 5, y = ypix(v);
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", L, right, y, y);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>\n", L - 6, y + 4, v);
  }
  return s;
}

}  // namespace

std::string svg_bar_chart(const std::string& title, const std::string& y_label, const std::vector<std::string>& series,
                          const std::vector<BarGroup>& groups, double ref) {
  const double W = 720, H = 420, L = 70, R = 20, T = 50, B = 70;
  double vmax = ref;
  for (const auto& g : groups)
    for (double v : g.values) vmax = std::max(vmax, v);
  vmax = nice_max(vmax * 1.1);
  auto ypix = [&](double v) { return T + (H - T - B) * (1 - v / vmax); };
  std::string s = svg_begin(W, H, title) + y_grid(L, W - R, vmax, ypix);
  s += fmt::format("<text x=\"18\" y=\"{}\" transform=\"rotate(-90 18 {})\" text-anchor=\"middle\">{}</text>\n",
                   (T + H - B) / 2, (T + H - B) / 2, esc(y_label));
  const double gw = (W - L - R) / std::max<size_t>(1, groups.size());
  const double bw = gw * 0.8 / std::max<size_t>(1, series.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const double x0 = L + g * gw + gw * 0.1;
    for (size_t k = 0; k < groups[g].values.size() && k < series.size(); ++k) {
      const double v = groups[g].values[k], y = ypix(v);
      s += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>\n"
          "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"12\">{:.2f}</text>\n",
          x0 + k * bw, y, bw * 0.92, ypix(0) - y, kColors[k % 6], x0 + k * bw + bw * 0.46, y - 4, v);
    }
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", L + g * gw + gw / 2,
                     H - B + 20, esc(groups[g].label));
  }
  if (ref > 0)
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#333\" stroke-dasharray=\"6 4\"/>\n",
                     L, W - R, ypix(ref), ypix(ref));
  for (size_t k = 0; k < series.size(); ++k) {
    const double x = L + k * 200;
    s += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n", x,
        H - 30, kColors[k % 6], x + 20, H - 19, esc(series[k]));
  }
  return s + "</svg>\n";
}

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                           const std::vector<LineSeries>& series) {
  const double W = 720, H = 440, L = 70, R = 20, T = 50, B = 80;
  double xmin = 1e300, xmax = -1e300, ymax = 0;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  if (xmin >= xmax) xmax = xmin * 2;
  ymax = nice_max(ymax * 1.05);
  const double lx0 = std::log2(xmin), lx1 = std::log2(xmax);
  auto xp = [&](double x) { return L + (W - L - R) * (std::log2(x) - lx0) / (lx1 - lx0); };
  auto yp = [&](double y) { return T + (H - T - B) * (1 - y / ymax); };
  std::string s = svg_begin(W, H, title) + y_grid(L, W - R, ymax, yp);
  for (double x = std::exp2(std::ceil(lx0)); x <= xmax * 1.0001; x *= 2)
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n", xp(x), H - B + 18, x);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (L + W - R) / 2, H - B + 38,
                   esc(x_label));
  s += fmt::format("<text x=\"18\" y=\"{}\" transform=\"rotate(-90 18 {})\" text-anchor=\"middle\">{}</text>\n",
                   (T + H - B) / 2, (T + H - B) / 2, esc(y_label));
  for (size_t k = 0; k < series.size(); ++k) {
    std::string pts;
    for (size_t i = 0; i < series[k].x.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", xp(series[k].x[i]), yp(series[k].y[i]));
    s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" {} points=\"{}\"/>\n", kColors[k % 6],
                     series[k].dashed ? "stroke-dasharray=\"7 5\"" : "", pts);
    if (!series[k].dashed)
      for (size_t i = 0; i < series[k].x.size(); ++i)
        s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"/>\n", xp(series[k].x[i]),
                         yp(series[k].y[i]), kColors[k % 6]);
    const double lx = L + (k % 3) * 215, ly = H - 22 + (k / 3) * 16 - 8;
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"3\" {}/>"
                     "<text x=\"{}\" y=\"{}\">{}</text>\n",
                     lx, lx + 24, ly, ly, kColors[k % 6], series[k].dashed ? "stroke-dasharray=\"7 5\"" : "", lx + 30,
                     ly + 4, esc(series[k].name));
  }
  return s + "</svg>\n";
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) fail("{}: cannot write file", path);
  out << text;
  if (!out) fail("{}: write failed", path);
}

}  // namespace lookahead::cli
