#include "bot/metrics.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace releasebot::bot {

namespace {

// The text format escapes backslash and newline in help texts, and the double quote as well in
// label values.
std::string escaped(std::string_view text, bool in_quotes) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"' && in_quotes) {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_label_value(std::string_view value) { return escaped(value, true); }
std::string escape_help(std::string_view help) { return escaped(help, false); }

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{}", value);
}

std::string_view type_name(metrics::kind type) {
  switch (type) {
    case metrics::kind::counter: return "counter";
    case metrics::kind::gauge: return "gauge";
    case metrics::kind::histogram: return "histogram";
  }
  return "untyped";
}

// The label set of a histogram bucket: the series' labels plus le.
std::string with_le(const std::string& labels, const std::string& bound) {
  if (labels.empty()) return "{le=\"" + bound + "\"}";
  return labels.substr(0, labels.size() - 1) + ",le=\"" + bound + "\"}";
}

}  // namespace

std::string render_labels(const metric_labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
  }
  return out + "}";
}

metrics::metrics() = default;

std::vector<double> metrics::latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

void metrics::describe(std::string name, kind type, std::string help, std::vector<double> buckets) {
  std::lock_guard lock{mutex_};
  auto& entry = families_[std::move(name)];
  entry.type = type;
  entry.help = std::move(help);
  std::sort(buckets.begin(), buckets.end());
  entry.buckets = std::move(buckets);
}

void metrics::computed(std::string name, kind type, std::string help, gauge_reader read) {
  std::lock_guard lock{mutex_};
  auto& entry = families_[std::move(name)];
  entry.type = type;
  entry.help = std::move(help);
  entry.read = std::move(read);
}

metrics::series* metrics::find_series(std::string_view name, const metric_labels& labels, kind expected) {
  const auto found = families_.find(name);
  if (found == families_.end() || found->second.type != expected) {
    spdlog::debug("metrics: {} is not a described {}", name, type_name(expected));
    return nullptr;
  }
  auto& entry = found->second;
  auto& one = entry.by_labels[render_labels(labels)];
  if (expected == kind::histogram && one.in_bucket.size() != entry.buckets.size()) {
    one.in_bucket.assign(entry.buckets.size(), 0);
  }
  return &one;
}

void metrics::add(std::string_view name, const metric_labels& labels, double by) {
  std::lock_guard lock{mutex_};
  if (auto* one = find_series(name, labels, kind::counter)) one->value += by;
}

void metrics::observe(std::string_view name, const metric_labels& labels, double value) {
  std::lock_guard lock{mutex_};
  auto* one = find_series(name, labels, kind::histogram);
  if (one == nullptr) return;
  const auto& bounds = families_.find(name)->second.buckets;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (value <= bounds[i]) ++one->in_bucket[i];
  }
  one->value += value;
  ++one->count;
}

double metrics::value(std::string_view name, const metric_labels& labels) const {
  std::lock_guard lock{mutex_};
  const auto found = families_.find(name);
  if (found == families_.end()) return 0;
  const auto one = found->second.by_labels.find(render_labels(labels));
  if (one == found->second.by_labels.end()) return 0;
  return found->second.type == kind::histogram ? static_cast<double>(one->second.count) : one->second.value;
}

std::string metrics::render() const {
  std::vector<std::pair<std::string, gauge_reader>> readers;
  {
    std::lock_guard lock{mutex_};
    for (const auto& [name, entry] : families_) {
      if (entry.read) readers.emplace_back(name, entry.read);
    }
  }
  // Read outside the lock: a reader may query storage.
  std::map<std::string, std::vector<std::pair<metric_labels, double>>> read_values;
  for (const auto& [name, read] : readers) {
    try {
      read_values[name] = read();
    } catch (const std::exception& error) {
      spdlog::warn("metrics: reading {} failed: {}", name, error.what());
    }
  }
  std::string out;
  std::lock_guard lock{mutex_};
  for (const auto& [name, entry] : families_) {
    out += "# HELP " + name + " " + escape_help(entry.help) + "\n";
    out += "# TYPE " + name + " " + std::string{type_name(entry.type)} + "\n";
    if (entry.read) {
      for (const auto& [labels, value] : read_values[name]) out += name + render_labels(labels) + " " + number(value) + "\n";
      continue;
    }
    for (const auto& [labels, one] : entry.by_labels) {
      if (entry.type != kind::histogram) {
        out += name + labels + " " + number(one.value) + "\n";
        continue;
      }
      for (std::size_t i = 0; i < entry.buckets.size(); ++i) {
        out += name + "_bucket" + with_le(labels, number(entry.buckets[i])) + " " +
               number(static_cast<double>(one.in_bucket[i])) + "\n";
      }
      out += name + "_bucket" + with_le(labels, "+Inf") + " " + number(static_cast<double>(one.count)) + "\n";
      out += name + "_sum" + labels + " " + number(one.value) + "\n";
      out += name + "_count" + labels + " " + number(static_cast<double>(one.count)) + "\n";
    }
  }
  return out;
}

}  // namespace releasebot::bot
