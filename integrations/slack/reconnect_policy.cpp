#include "integrations/slack/reconnect_policy.hpp"

#include <algorithm>
#include <array>

namespace releasebot::integrations::slack {

failure_kind classify_slack_error(std::string_view error_code) {
  static constexpr std::array<std::string_view, 9> fatal{
      "invalid_auth",    "not_authed",     "account_inactive", "token_revoked", "token_expired",
      "no_permission",   "missing_scope",  "link_disabled",    "not_allowed_token_type"};
  return std::find(fatal.begin(), fatal.end(), error_code) != fatal.end() ? failure_kind::fatal
                                                                           : failure_kind::transient;
}

reconnect_policy::reconnect_policy(settings tuning, std::uint32_t seed) : tuning_{tuning}, random_{seed} {}

void reconnect_policy::connected(clock::time_point at) { connected_at_ = at; }

std::optional<std::chrono::milliseconds> reconnect_policy::next_delay(failure_kind kind, clock::time_point at) {
  if (kind == failure_kind::fatal) return std::nullopt;
  if (connected_at_ && at - *connected_at_ >= tuning_.stable_after) failures_ = 0;
  connected_at_.reset();
  const auto ceiling = std::min(tuning_.longest, tuning_.first * (std::int64_t{1} << std::min(failures_, 16)));
  ++failures_;
  std::uniform_int_distribution<std::int64_t> jitter{0, ceiling.count()};
  return std::chrono::milliseconds{jitter(random_)};
}

}  // namespace releasebot::integrations::slack
