// The Bot Framework's signing keys: fetched from the OpenID metadata's jwks_uri, kept for a day,
// fetched again early when a token names a key we do not know (a rotation), but such early
// fetches at most once a minute (a stream of forged kids must not turn into a stream of fetches).
#pragma once

#include "integrations/net/http_client.hpp"
#include "integrations/teams/jwt.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace releasebot::integrations::teams {

class key_cache {
public:
  key_cache(net::http_client& http, std::string metadata_url);

  // The current keys (fetching when needed); nullopt when none could be had.
  boost::asio::awaitable<std::optional<key_set>> keys(bool unknown_key_seen);
  int fetches() const { return fetches_; }
  bool has_keys() const { return keys_.has_value(); }

private:
  boost::asio::awaitable<bool> refresh();

  net::http_client& http_;
  std::string metadata_url_;
  std::optional<key_set> keys_;
  std::chrono::steady_clock::time_point fetched_at_{};
  std::optional<std::chrono::steady_clock::time_point> forced_at_;
  int fetches_ = 0;
};

}  // namespace releasebot::integrations::teams
