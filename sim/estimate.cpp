#include "sim/estimate.hpp"

#include <algorithm>
#include <cmath>

#include "sim/network.hpp"

namespace moesim::sim {

std::shared_ptr<const Network> make_network(const hw::ClusterSpec& cluster) {
  return std::make_shared<ClusterNetwork>(cluster);
}

TrainingTotals training_totals(const StepResult& step, std::int64_t devices, double tokens,
                               double price, double pue) {
  TrainingTotals t;
  t.tokens = tokens;
  t.price_per_device_hour_usd = price;
  if (step.tokens_per_s <= 0) return t;
  t.wall_s = tokens / step.tokens_per_s;
  t.device_hours = t.wall_s * static_cast<double>(devices) / 3600;
  t.cost_usd = t.device_hours * price;
  // Energy: average device power times devices times wall time, times the PUE (kWh).
  t.energy_kwh = step.average_power_w * static_cast<double>(devices) * t.wall_s * pue / 3.6e6;
  return t;
}

Estimate estimate(const EstimateInput& input) {
  return estimate(input, make_network(input.cluster));
}

Estimate estimate(const EstimateInput& input, const std::shared_ptr<const Network>& network) {
  Estimate e;
  e.model_name = input.model.name;
  e.cluster_name = input.cluster.name;
  e.accelerator_name = input.cluster.accelerator.name;
  e.devices = input.cluster.devices;
  e.model = model::totals(input.model);
  e.tokens = input.tokens;
  e.hbm_bytes = input.cluster.accelerator.hbm_bytes;
  if (!input.cluster.notes.empty()) e.notes.push_back(input.cluster.notes);
  const double price =
      input.price_per_device_hour_usd.value_or(input.cluster.accelerator.price_per_hour_usd);

  const StepModel step_model(input.model, input.cluster, network, input.step_options);
  if (input.layout) {
    e.layout = *input.layout;
    if (e.layout.global_batch <= 0)
      e.layout.global_batch =
          default_global_batch(input.model.seq_len, e.layout.dp, e.layout.micro_batch);
    e.memory = memory_per_device(input.model, e.layout);
    e.step = step_model.evaluate(e.layout);
  } else {
    e.layout_chosen = true;
    OptimizerOptions opt;
    opt.top = 1;
    opt.objective = input.objective;
    opt.flash_attention = input.flash_attention;
    const OptimizerResult best = optimize(input.model, input.cluster, step_model, opt, price);
    e.layouts_searched = best.fitting;
    if (!best.top.empty()) {
      e.layout = best.top.front().layout;
      e.memory = best.top.front().memory;
      e.step = best.top.front().step;
      e.notes.push_back("layout chosen by the optimizer (" +
                        std::string(to_string(input.objective)) + " per token): " + best.why);
    } else {
      // Nothing fits: report the layout with the least memory per device.
      double least = 0;
      bool found = false;
      const auto layers = model::layer_costs(input.model);
      for (std::int64_t tp = 1; tp <= std::max(1, input.cluster.scale_up.devices_per_domain);
           tp *= 2) {
        for (std::int64_t pp = 1; pp <= input.model.total_layers(); pp *= 2) {
          if (e.devices % (tp * pp) != 0) continue;
          Layout l;
          l.tp = tp, l.pp = pp, l.dp = e.devices / (tp * pp), l.zero = 3;
          l.recompute = Recompute::full;
          l.flash_attention = input.flash_attention;
          if (input.model.is_moe())
            for (std::int64_t d = 1; d <= l.dp; ++d)
              if (l.dp % d == 0 && input.model.moe.experts % d == 0) l.ep = d;
          l.global_batch = default_global_batch(input.model.seq_len, l.dp, 1);
          if (!validate(l, input.model, e.devices).empty()) continue;
          const double bytes =
              memory_per_device(input.model, layers, e.model, l).per_device_bytes();
          if (!found || bytes < least) {
            least = bytes;
            e.layout = l;
            found = true;
          }
        }
      }
      if (found) {
        e.memory = memory_per_device(input.model, e.layout);
        e.step = step_model.evaluate(e.layout);
        e.notes.push_back(
            "no layout fits in HBM; showing the layout with the least memory per device");
      } else {
        e.notes.push_back("no valid layout exists for this model on this cluster");
      }
    }
  }
  e.fits = e.memory.per_device_bytes() <= e.hbm_bytes;
  if (e.step && e.tokens)
    e.training =
        training_totals(*e.step, e.layout.devices(), *e.tokens, price, input.step_options.pue);
  if (e.step && !input.step_options.fused_grad_accumulation)
    e.notes.push_back(
        "gradient accumulation unfused (--grad-accumulation-fusion false): every micro-batch's "
        "backward ends with an add of the stage's gradients into the fp32 buffer, 10 bytes per "
        "parameter (docs/step_model.md)");
  if (e.step && e.step->breakdown.ep_crosses_network)
    e.notes.push_back(
        "expert all-to-all crosses the scale-up domain (ep*tp > devices per domain): it runs on "
        "the network");
  return e;
}

}  // namespace moesim::sim
