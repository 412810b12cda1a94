// moesim-gui: the desktop front end. All the work is in MainWindow (moesim_gui_lib).
//   moesim-gui [--model NAME] [--cluster NAME] [--devices N] [--screenshot FILE.png]
// --screenshot renders the window to FILE and exits (works with QT_QPA_PLATFORM=offscreen).
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <cstdio>

#include "gui/main_window.hpp"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("moesim-gui");
  QApplication::setOrganizationName("moesim");

  QCommandLineParser parser;
  parser.setApplicationDescription("moesim-gui: what a MoE model costs on a cluster");
  parser.addHelpOption();
  const QCommandLineOption model({"m", "model"}, "Model preset to start with.", "NAME");
  const QCommandLineOption cluster({"c", "cluster"}, "Cluster preset to start with.", "NAME");
  const QCommandLineOption devices({"d", "devices"}, "Number of accelerators.", "N");
  const QCommandLineOption screenshot("screenshot", "Save the window to FILE and exit.", "FILE");
  parser.addOptions({model, cluster, devices, screenshot});
  parser.process(app);

  moesim::gui::MainWindow window;
  if (parser.isSet(model) && !window.select_model(parser.value(model))) {
    std::fprintf(stderr, "error: --model: unknown preset '%s'\n", qPrintable(parser.value(model)));
    return 2;
  }
  if (parser.isSet(cluster) && !window.select_cluster(parser.value(cluster))) {
    std::fprintf(stderr, "error: --cluster: unknown preset '%s'\n",
                 qPrintable(parser.value(cluster)));
    return 2;
  }
  if (parser.isSet(devices)) {
    bool ok = false;
    const int n = parser.value(devices).toInt(&ok);
    if (!ok || n < 1) {
      std::fprintf(stderr, "error: --devices: '%s' is not a positive integer\n",
                   qPrintable(parser.value(devices)));
      return 2;
    }
    window.set_devices(n);
  }
  window.recompute_now();
  window.show();
  if (parser.isSet(screenshot)) {
    // Let the layout settle for a moment, then render and quit.
    const QString file = parser.value(screenshot);
    QTimer::singleShot(200, &window, [&window, file] {
      const bool saved = window.grab().save(file);
      if (!saved)
        std::fprintf(stderr, "error: --screenshot: cannot write '%s'\n", qPrintable(file));
      QApplication::exit(saved ? 0 : 1);
    });
  }
  return QApplication::exec();
}
