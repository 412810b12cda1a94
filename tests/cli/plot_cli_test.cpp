// `moesim plot` (docs/plot.md): the pure half (CSV table, units, series, Pareto frontier)
// and the rendered files. The PNG must not be blank, the SVG must parse as XML and draw each
// line series as one polyline in its own colour, the PDF must open. The CLI sets
// QT_QPA_PLATFORM=offscreen itself when it is unset, so no display is needed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "io/csv_table.hpp"
#include "io/errors.hpp"

#ifdef MOESIM_HAVE_PLOT
#include <QFile>
#include <QImage>
#include <QXmlStreamReader>

#include "io/plot/plot.hpp"
#endif

namespace moesim {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CliRun {
  int code = -1;
  std::string out, err;
};

CliRun moesim(const std::string& args, const fs::path& dir) {
  const std::string out = (dir / "stdout.txt").string(), err = (dir / "stderr.txt").string();
  const std::string cmd =
      std::string(MOESIM_CLI_PATH) + " " + args + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const io::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- The CSV table ----------------------------------------------------------------------

TEST(CsvTable, QuotedCellsLinesAndNumbers) {
  const io::CsvTable t =
      io::parse_csv("a,b,\"c,d\"\r\n1,\"x \"\"y\"\"\",2.5e3\n\n,true,-4\n", "t.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"a", "b", "c,d"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][1], "x \"y\"");
  EXPECT_EQ(t.line_of(1), 4u);  // the blank line 3 is skipped
  EXPECT_EQ(*t.number(0, 2), 2500.0);
  EXPECT_FALSE(t.number(1, 0).has_value());  // an empty cell has no value
  EXPECT_EQ(*t.number(1, 1), 1.0);           // true/false are 1/0
  EXPECT_EQ(*t.number(1, 2), -4.0);
  EXPECT_EQ(t.column("c,d", "--y"), 2u);
  EXPECT_EQ(error_of([&] { t.number(0, 1); }),
            "t.csv: line 2, column b: 'x \"y\"' is not a finite number");
  EXPECT_EQ(error_of([&] { t.column("bb", "--y"); }),
            "--y: column: unknown column 'bb' in t.csv; did you mean 'b'?");
  EXPECT_EQ(error_of([] { io::parse_csv("a,b\n1\n", "t.csv"); }),
            "t.csv: line 2: has 1 cells, the header has 2");
  EXPECT_EQ(error_of([] { io::parse_csv("", "t.csv"); }),
            "t.csv: line 1: no header line (empty file)");
  EXPECT_EQ(error_of([] { io::parse_csv("a\n\"x\n", "t.csv"); }),
            "t.csv: line 2: a quoted cell is not closed");
  const io::CsvTable nan = io::parse_csv("a\nnan\ninf\n", "n.csv");
  EXPECT_THROW(nan.number(0, 0), io::InputError);  // never NaN or inf into a chart
  EXPECT_THROW(nan.number(1, 0), io::InputError);
}

#ifdef MOESIM_HAVE_PLOT

// ---- Series, units, frontier (pure) -----------------------------------------------------

TEST(PlotData, UnitsFromColumnNames) {
  using io::plot::column_unit;
  EXPECT_EQ(column_unit("time.step_s"), "s");
  EXPECT_EQ(column_unit("time.breakdown.compute_s"), "s");
  EXPECT_EQ(column_unit("memory.per_device_bytes"), "bytes");
  EXPECT_EQ(column_unit("memory.breakdown.weights"), "bytes");
  EXPECT_EQ(column_unit("training.cost_usd"), "USD");
  EXPECT_EQ(column_unit("training.energy_kwh"), "kWh");
  EXPECT_EQ(column_unit("training.device_hours"), "h");
  EXPECT_EQ(column_unit("throughput.tokens_per_s"), "tokens/s");
  EXPECT_EQ(column_unit("algbw_Bps"), "B/s");
  EXPECT_EQ(column_unit("power.average_device_w"), "W");
  EXPECT_EQ(column_unit("throughput.mfu"), "fraction of peak");
  EXPECT_EQ(column_unit("model.params_total"), "parameters");
  EXPECT_EQ(column_unit("training.tokens"), "tokens");
  EXPECT_EQ(column_unit("set:moe.experts"), "");
  EXPECT_EQ(io::plot::axis_title("time.step_s"), "time.step_s (s)");
  EXPECT_EQ(io::plot::axis_title("ep"), "ep");
}

TEST(PlotData, ParetoFrontierIsTheLowerLeftStaircase) {
  // (1,5) (2,3) (3,4) (4,1) (2,3) (5,1): (3,4) is beaten by (2,3); (5,1) by (4,1); the
  // duplicate (2,3) appears once.
  const std::vector<double> x{1, 2, 3, 4, 2, 5}, y{5, 3, 4, 1, 3, 1};
  EXPECT_EQ(io::plot::pareto_frontier(x, y), (std::vector<std::size_t>{0, 1, 3}));
  EXPECT_TRUE(io::plot::pareto_frontier({}, {}).empty());
}

const char* kTable =
    "point,experts,ep,status,time.step_s,cost_usd,part_a_s,part_b_s\n"
    "0,8,1,ok,4,40,1,3\n"
    "1,16,1,ok,3,50,1,2\n"
    "2,8,2,ok,2,60,0.5,1.5\n"
    "3,16,2,invalid,,,,\n"
    "4,32,2,ok,1,80,0.25,0.75\n"
    "5,32,1,ok,5,30,2,3\n";

TEST(PlotData, GroupsSortNumericallyAndLinesSortByX) {
  const io::CsvTable t = io::parse_csv(kTable, "r.csv");
  io::plot::PlotOptions o;
  o.x = "experts";
  o.y = {"time.step_s"};
  o.group = "ep";
  const io::plot::Chart c = io::plot::prepare_chart(t, o);
  ASSERT_EQ(c.series.size(), 2u);
  EXPECT_EQ(c.series[0].name, "ep=1");
  EXPECT_EQ(c.series[0].x, (std::vector<double>{8, 16, 32}));
  EXPECT_EQ(c.series[0].y, (std::vector<double>{4, 3, 5}));
  EXPECT_EQ(c.series[1].x, (std::vector<double>{8, 32}));  // the invalid row is skipped
  EXPECT_EQ(c.rows_skipped, 1u);
  EXPECT_EQ(c.title, "time.step_s vs experts by ep");
  EXPECT_EQ(c.x_title, "experts");
  EXPECT_EQ(c.y_title, "time.step_s (s)");

  o.kind = io::plot::Kind::pareto;
  o.x = "time.step_s";
  o.y = {"cost_usd"};
  o.group.clear();
  const io::plot::Chart p = io::plot::prepare_chart(t, o);
  // Faster is dearer in every row, so all five points are on the frontier, by x.
  EXPECT_EQ(p.frontier.x, (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_EQ(p.frontier.y, (std::vector<double>{80, 60, 50, 40, 30}));

  o.kind = io::plot::Kind::stacked_bar;
  o.x = "experts";
  o.y = {"part_a_s", "part_b_s"};
  o.where = {{"ep", "2"}};
  const io::plot::Chart b = io::plot::prepare_chart(t, o);
  EXPECT_EQ(b.categories, (std::vector<std::string>{"8", "32"}));
  EXPECT_EQ(b.series[1].y, (std::vector<double>{1.5, 0.75}));
  EXPECT_EQ(b.y_title, "value (s)");
}

TEST(PlotData, BadOptionsNameTheFieldAndRule) {
  const io::CsvTable t = io::parse_csv(kTable, "r.csv");
  auto err = [&](const std::function<void(io::plot::PlotOptions&)>& edit) {
    io::plot::PlotOptions o;
    o.x = "experts";
    o.y = {"time.step_s"};
    edit(o);
    return error_of([&] { io::plot::prepare_chart(t, o); });
  };
  EXPECT_EQ(err([](auto& o) { o.y = {"time.step"}; }),
            "--y: column: unknown column 'time.step' in r.csv; did you mean 'time.step_s'?");
  EXPECT_EQ(err([](auto& o) { o.y = {"status"}; }),
            "r.csv: line 2, column status: 'ok' is not a finite number");
  EXPECT_EQ(err([](auto& o) {
              o.x = "ep";
              o.log_x = true;
              o.where = {{"status", "ok"}};
              o.y = {"part_a_s"};
              o.log_y = true;
              o.x = "point";
            }),
            "r.csv: line 2, column point: 0 is not positive; --log-x needs positive values");
  EXPECT_EQ(err([](auto& o) {
              o.kind = io::plot::Kind::stacked_bar;
              o.y = {"part_a_s", "part_b_s"};
            }),
            "--x: column experts: several rows have experts=8; a stacked bar takes one row per "
            "bar (narrow them with --where COLUMN=VALUE)");
  EXPECT_NE(err([](auto& o) { o.where = {{"ep", "7"}}; }).find("--where"), std::string::npos);
  EXPECT_NE(err([](auto& o) {
              o.kind = io::plot::Kind::stacked_bar;
              o.log_y = true;
            }).find("--log-y"),
            std::string::npos);
  EXPECT_THROW(io::plot::out_format("fig.jpg"), io::InputError);
  EXPECT_EQ(io::plot::out_format("FIG.SVG"), io::plot::OutFormat::svg);
}

// ---- The rendered files --------------------------------------------------------------------

class PlotCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("moesim_plot_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    csv_ = dir_ / "r.csv";
    std::ofstream(csv_) << kTable;
  }
  void TearDown() override { fs::remove_all(dir_); }
  CliRun plot(const std::string& args) {
    return moesim("plot " + csv_.string() + " " + args, dir_);
  }
  // Files in the folder besides the CSV (a failed plot must leave none, not even a temp).
  std::set<std::string> outputs() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path() != csv_) names.insert(e.path().filename().string());
    return names;
  }
  fs::path dir_, csv_;
};

// The standard deviation of the grey level over all pixels (0 for a blank image).
double grey_stddev(const QImage& image) {
  double sum = 0, sum2 = 0;
  const double n = static_cast<double>(image.width()) * image.height();
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      const double g = qGray(image.pixel(x, y));
      sum += g;
      sum2 += g * g;
    }
  return std::sqrt(std::max(0.0, sum2 / n - (sum / n) * (sum / n)));
}

TEST_F(PlotCli, PngIsNotBlankAndShowsEverySeriesColour) {
  const CliRun r = plot("--x experts --y time.step_s --group ep --log-x --out " +
                        (dir_ / "f.png").string() + " --width 800 --height 500");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  QImage image;
  ASSERT_TRUE(image.load(QString::fromStdString((dir_ / "f.png").string()), "PNG"));
  EXPECT_EQ(image.width(), 800);
  EXPECT_EQ(image.height(), 500);
  EXPECT_GT(grey_stddev(image), 10.0);  // a white page would be 0
  // The first two colours of the palette (Okabe-Ito blue and orange) are drawn.
  std::map<QRgb, int> counts;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) ++counts[image.pixel(x, y) | 0xff000000u];
  EXPECT_GT(counts[qRgb(0, 114, 178)], 20);
  EXPECT_GT(counts[qRgb(230, 159, 0)], 20);
  EXPECT_EQ(outputs(), (std::set<std::string>{"f.png"}));
}

// What Qt's SVG generator emits for a chart: every painter state change opens a <g> that
// carries the pen (stroke="#rrggbb"); a line series is drawn segment by segment
// (QLineSeries with a solid pen calls drawLine per segment), so it is one <g> in its colour
// holding one <polyline> per segment; markers are <circle>s, grid lines and ticks are grey
// polylines, text is <text>. So a series is the one <g> stroked in its colour that holds
// polylines or paths: returns how many such groups each stroke colour has.
std::map<std::string, int> series_groups(const std::string& svg_path, bool* well_formed,
                                         int* circles) {
  QFile file(QString::fromStdString(svg_path));
  std::map<std::string, int> by_stroke;
  *well_formed = false;
  *circles = 0;
  if (!file.open(QIODevice::ReadOnly)) return by_stroke;
  QXmlStreamReader xml(&file);
  struct Group {
    std::string stroke;
    bool draws = false;
  };
  std::vector<Group> open{{"none", false}};
  while (!xml.atEnd()) {
    const auto token = xml.readNext();
    if (token == QXmlStreamReader::StartElement) {
      const auto attrs = xml.attributes();
      Group g{open.back().stroke, false};
      if (attrs.hasAttribute("stroke")) g.stroke = attrs.value("stroke").toString().toStdString();
      if (xml.name() == QLatin1String("polyline") || xml.name() == QLatin1String("path"))
        open.back().draws = true;
      if (xml.name() == QLatin1String("circle")) ++*circles;
      open.push_back(g);
    } else if (token == QXmlStreamReader::EndElement) {
      if (xml.name() == QLatin1String("g") && open.back().draws) ++by_stroke[open.back().stroke];
      open.pop_back();
    }
  }
  *well_formed = !xml.hasError();
  return by_stroke;
}

TEST_F(PlotCli, SvgParsesAndHoldsOnePathGroupPerSeries) {
  const std::string out = (dir_ / "f.svg").string();
  const CliRun r = plot("--x experts --y time.step_s --group ep --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  bool ok = false;
  int circles = 0;
  const auto strokes = series_groups(out, &ok, &circles);
  EXPECT_TRUE(ok) << "the SVG is not well-formed XML";
  EXPECT_EQ(strokes.count("#0072b2") ? strokes.at("#0072b2") : 0, 1);  // ep=1
  EXPECT_EQ(strokes.count("#e69f00") ? strokes.at("#e69f00") : 0, 1);  // ep=2
  EXPECT_EQ(strokes.count("#009e73"), 0u);                             // no third series
  EXPECT_GE(circles, 5);                                               // the 5 points
  EXPECT_NE(read_text(out).find("<title>time.step_s vs experts by ep</title>"), std::string::npos);

  // pareto: the points are circles, the frontier is one dark group of segments.
  const std::string pareto = (dir_ / "p.svg").string();
  ASSERT_EQ(plot("--kind pareto --x time.step_s --y cost_usd --out " + pareto).code, 0);
  const auto p = series_groups(pareto, &ok, &circles);
  EXPECT_TRUE(ok);
  EXPECT_EQ(p.count("#141414") ? p.at("#141414") : 0, 1);
  EXPECT_EQ(p.count("#0072b2"), 0u);  // scatter points draw no line
}

TEST_F(PlotCli, PdfOpens) {
  const std::string out = (dir_ / "f.pdf").string();
  const CliRun r =
      plot("--kind stacked-bar --x experts --y part_a_s,part_b_s --where ep=2 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string pdf = read_text(out);
  ASSERT_GT(pdf.size(), 1000u);
  EXPECT_EQ(pdf.rfind("%PDF-", 0), 0u);
  EXPECT_NE(pdf.find("%%EOF", pdf.size() - 16), std::string::npos);
  // pdftoppm (poppler-utils, installed by scripts/install-deps.sh) renders it back.
  if (std::system("command -v pdftoppm >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "pdftoppm is not installed; checked the PDF's header and trailer only";
  const std::string png = (dir_ / "page").string();
  ASSERT_EQ(std::system(("pdftoppm -png -r 40 -singlefile " + out + " " + png).c_str()), 0);
  QImage page;
  ASSERT_TRUE(page.load(QString::fromStdString(png + ".png")));
  EXPECT_GT(grey_stddev(page), 5.0);
}

TEST_F(PlotCli, BadInputIsOneLineExit2AndWritesNothing) {
  const std::string out = " --out " + (dir_ / "f.png").string();
  struct Case {
    std::string args, needle;
  };
  const std::vector<Case> cases = {
      {"--x experts --y time.step" + out, "did you mean 'time.step_s'"},
      {"--x experts --y status" + out, "column status: 'ok' is not a finite number"},
      {"--x experts --y time.step_s --out " + (dir_ / "f.jpg").string(), "--out"},
      {"--x point --y time.step_s --log-x" + out, "--log-x needs positive values"},
      {"--x experts --y time.step_s --kind bars" + out, "--kind"},
      {"--x experts --y time.step_s --out " + (dir_ / "no" / "f.png").string(), "does not exist"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    const CliRun r = plot(c.args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_TRUE(outputs().empty());
  }
  const CliRun missing =
      moesim("plot " + (dir_ / "none.csv").string() + " --x a --y b" + out, dir_);
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("none.csv: (file): does not exist"), std::string::npos) << missing.err;
  EXPECT_TRUE(outputs().empty());
}

TEST_F(PlotCli, PlotsARealSweep) {
  const fs::path spec = dir_ / "spec.json", sweep = dir_ / "sweep.csv";
  std::ofstream(spec) << R"({"verb": "estimate",
    "base": {"model": "mixtral-8x7b", "cluster": "dgx-h100", "devices": 64, "tp": 2, "pp": 1},
    "grid": {"set:moe.experts": [8, 16, 32], "ep": [1, 2, 4, 3]}})";
  ASSERT_EQ(moesim("sweep " + spec.string() + " --out " + sweep.string() + " --quiet", dir_).code,
            0);
  const std::string out = (dir_ / "s.png").string();
  const CliRun r =
      moesim("plot " + sweep.string() +
                 " --x set:moe.experts --y time.step_s --group ep --log-x --out " + out,
             dir_);
  ASSERT_EQ(r.code, 0) << r.err;  // the invalid ep=3 rows are skipped, not an error
  QImage image;
  ASSERT_TRUE(image.load(QString::fromStdString(out)));
  EXPECT_GT(grey_stddev(image), 10.0);
}

#else
TEST(PlotCli, NotBuilt) {
  GTEST_SKIP() << "moesim was built without Qt6 Charts: `moesim plot` answers exit 1";
}
#endif

}  // namespace
}  // namespace moesim
