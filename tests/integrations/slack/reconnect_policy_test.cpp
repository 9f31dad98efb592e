// The reconnect policy, fed failures without any I/O.
#include "integrations/slack/reconnect_policy.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace std::chrono_literals;
using releasebot::integrations::slack::classify_slack_error;
using releasebot::integrations::slack::failure_kind;
using releasebot::integrations::slack::reconnect_policy;

TEST_CASE("a refused token is fatal; everything else is retried", "[slack][reconnect]") {
  for (const auto* error : {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "link_disabled"}) {
    CHECK(classify_slack_error(error) == failure_kind::fatal);
  }
  for (const auto* error : {"ratelimited", "http_503", "network", "internal_error", ""}) {
    CHECK(classify_slack_error(error) == failure_kind::transient);
  }
  reconnect_policy policy{{}};
  CHECK_FALSE(policy.next_delay(failure_kind::fatal, reconnect_policy::clock::now()));
}

TEST_CASE("delays grow exponentially under a ceiling, with jitter", "[slack][reconnect]") {
  reconnect_policy policy{{250ms, 4000ms, 30'000ms}, 42};
  const auto now = reconnect_policy::clock::now();
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(*policy.next_delay(failure_kind::transient, now));
  const std::chrono::milliseconds ceilings[] = {250ms, 500ms, 1000ms, 2000ms, 4000ms, 4000ms, 4000ms, 4000ms};
  for (std::size_t i = 0; i < delays.size(); ++i) {
    CHECK(delays[i] >= 0ms);
    CHECK(delays[i] <= ceilings[i]);
  }
  CHECK(policy.consecutive_failures() == 8);
}

TEST_CASE("jitter spreads clients apart: no lockstep", "[slack][reconnect]") {
  std::set<long> first_delays;
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    reconnect_policy policy{{1000ms, 30'000ms, 30'000ms}, seed};
    first_delays.insert(policy.next_delay(failure_kind::transient, reconnect_policy::clock::now())->count());
  }
  CHECK(first_delays.size() > 10);
}

TEST_CASE("a stable connection resets the backoff; a short-lived one does not", "[slack][reconnect]") {
  reconnect_policy policy{{250ms, 30'000ms, 30'000ms}, 7};
  auto now = reconnect_policy::clock::now();
  for (int i = 0; i < 5; ++i) policy.next_delay(failure_kind::transient, now);
  CHECK(policy.consecutive_failures() == 5);

  policy.connected(now);
  now += 5s;  // died young
  policy.next_delay(failure_kind::transient, now);
  CHECK(policy.consecutive_failures() == 6);

  policy.connected(now);
  now += 31s;  // lived long enough
  const auto delay = policy.next_delay(failure_kind::transient, now);
  CHECK(policy.consecutive_failures() == 1);
  CHECK(*delay <= 250ms);
}
