// When to try the Socket Mode connection again: a small state machine with no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace releasebot::integrations::slack {

enum class failure_kind {
  transient,  // network, TLS, timeouts, 5xx, a dropped socket: try again with backoff
  fatal       // the app or its token is refused: trying again cannot help
};

// Slack error names that no retry can fix (a bad token must stop the bot, never loop).
failure_kind classify_slack_error(std::string_view error_code);

class reconnect_policy {
public:
  using clock = std::chrono::steady_clock;

  struct settings {
    std::chrono::milliseconds first{250};    // ceiling of the first delay
    std::chrono::milliseconds longest{30'000};
    std::chrono::milliseconds stable_after{30'000};  // a connection this old resets the backoff
  };

  explicit reconnect_policy(settings tuning, std::uint32_t seed = std::random_device{}());

  void connected(clock::time_point at);
  // The wait before the next attempt ("full jitter": uniform in [0, ceiling]); nullopt for fatal.
  std::optional<std::chrono::milliseconds> next_delay(failure_kind kind, clock::time_point at);
  int consecutive_failures() const { return failures_; }

private:
  settings tuning_;
  std::mt19937 random_;
  int failures_ = 0;
  std::optional<clock::time_point> connected_at_;
};

}  // namespace releasebot::integrations::slack
