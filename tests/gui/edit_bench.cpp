// Edit-to-numbers latency of moesim-gui (issue 9: at most 100 ms for deepseek-v3 on 2048
// GPUs, analytic path). A timed program, not a test assertion: it prints the figures.
//   QT_QPA_PLATFORM=offscreen build/tests/gui/moesim_gui_edit_bench [repetitions]
// Each repetition changes the expert count in the form (256 <-> 128, as typing would) and
// measures until the window shows the new estimate (params_total updated, automatic layout
// search included); the loss curve and the plan frontier follow on the worker thread and
// are timed separately.
#include <QApplication>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QLabel>
#include <QThread>
#include <algorithm>
#include <cstdio>
#include <vector>

#include "gui/main_window.hpp"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  moesim::gui::MainWindow window;
  window.show();
  if (!window.select_model("deepseek-v3") || !window.select_cluster("dgx-h100")) return 1;
  window.set_devices(2048);
  window.set_tokens("14.8T");
  window.select_law("joint");
  window.recompute_now();
  window.wait_until_idle();
  QLabel* params = window.value_label("model.params_total");
  std::vector<double> numbers_ms, all_ms;
  for (int i = 0; i < reps; ++i) {
    const QVariant before = params->property("value");
    QElapsedTimer t;
    t.start();
    window.set_model_field("moe.experts", i % 2 == 0 ? 128 : 256);
    QDeadlineTimer deadline(10000);
    while (params->property("value") == before && !deadline.hasExpired()) {
      QCoreApplication::processEvents(QEventLoop::AllEvents, 1);
      if (params->property("value") == before) QThread::usleep(200);
    }
    numbers_ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
    window.wait_until_idle();
    all_ms.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
  }
  auto report = [](const char* what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::printf("%-46s median %7.1f ms  min %7.1f ms  max %7.1f ms  (n=%zu)\n", what,
                v[v.size() / 2], v.front(), v.back(), v.size());
  };
  std::printf("deepseek-v3 on dgx-h100 x 2048, automatic layout, 14.8T tokens, law joint\n");
  report("edit -> estimate shown (incl. 10 ms debounce)", numbers_ms);
  report("edit -> loss curve and plan frontier shown", all_ms);
  return 0;
}
