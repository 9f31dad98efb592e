// The bot's operations metrics (counters, histograms, gauges read when scraped) and their
// rendering in the Prometheus text exposition format, for GET /metrics.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace releasebot::bot {

using metric_labels = std::vector<std::pair<std::string, std::string>>;

class metrics {
public:
  enum class kind { counter, gauge, histogram };
  // Samples computed when scraped (e.g. the outbox depth, read from storage).
  using gauge_reader = std::function<std::vector<std::pair<metric_labels, double>>()>;

  metrics();

  void describe(std::string name, kind type, std::string help, std::vector<double> buckets = {});
  // A family whose samples are read when scraped (a gauge, or a counter kept elsewhere).
  void computed(std::string name, kind type, std::string help, gauge_reader read);

  // Both ignore (and log once) a name that was never described.
  void add(std::string_view name, const metric_labels& labels, double by = 1);
  void observe(std::string_view name, const metric_labels& labels, double value);

  // The whole registry in the text format (version 0.0.4), families sorted by name.
  std::string render() const;
  // A counter's value, or a histogram's count; 0 when absent (for tests and the bench).
  double value(std::string_view name, const metric_labels& labels) const;

  static std::vector<double> latency_buckets();

private:
  struct series {
    double value = 0;              // counter / gauge value, or the histogram's sum
    std::uint64_t count = 0;       // histogram only
    std::vector<std::uint64_t> in_bucket;  // histogram only: observations <= each bound
  };
  struct family {
    kind type = kind::counter;
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, series> by_labels;  // rendered label set → series
    gauge_reader read;
  };

  series* find_series(std::string_view name, const metric_labels& labels, kind expected);

  mutable std::mutex mutex_;
  std::map<std::string, family, std::less<>> families_;
};

// `{a="x",b="y"}` with the text format's escaping; empty for no labels.
std::string render_labels(const metric_labels& labels);

}  // namespace releasebot::bot
