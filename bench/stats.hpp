// Small statistics for latency samples (milliseconds).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace releasebot::bench {

struct summary {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

// Nearest-rank percentiles.
inline summary summarize(std::vector<double> samples) {
  summary out;
  out.count = samples.size();
  if (samples.empty()) return out;
  std::sort(samples.begin(), samples.end());
  const auto rank = [&](double p) {
    const auto index = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
    return samples[std::min(samples.size() - 1, index == 0 ? 0 : index - 1)];
  };
  out.p50 = rank(50);
  out.p90 = rank(90);
  out.p99 = rank(99);
  out.max = samples.back();
  double total = 0;
  for (const double sample : samples) total += sample;
  out.mean = total / static_cast<double>(samples.size());
  return out;
}

inline double round3(double value) { return std::round(value * 1000.0) / 1000.0; }

inline nlohmann::json to_json(const summary& s) {
  return {{"count", s.count}, {"p50_ms", round3(s.p50)}, {"p90_ms", round3(s.p90)},
          {"p99_ms", round3(s.p99)}, {"max_ms", round3(s.max)}, {"mean_ms", round3(s.mean)}};
}

}  // namespace releasebot::bench
