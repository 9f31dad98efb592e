#include "integrations/teams/key_cache.hpp"

#include <spdlog/spdlog.h>

namespace releasebot::integrations::teams {

namespace {
constexpr auto keep_keys_for = std::chrono::hours{24};
constexpr auto least_between_refreshes = std::chrono::minutes{1};
}  // namespace

key_cache::key_cache(net::http_client& http, std::string metadata_url)
    : http_{http}, metadata_url_{std::move(metadata_url)} {}

boost::asio::awaitable<bool> key_cache::refresh() {
  ++fetches_;
  fetched_at_ = std::chrono::steady_clock::now();
  auto metadata = co_await http_.request(boost::beast::http::verb::get, metadata_url_, {});
  if (!metadata.reached || metadata.status != 200) {
    spdlog::warn("teams: OpenID metadata {} not available: {}", metadata_url_,
                 metadata.reached ? "HTTP " + std::to_string(metadata.status) : metadata.error);
    co_return false;
  }
  const auto jwks_uri = jwks_uri_of(metadata.body);
  if (!jwks_uri) {
    spdlog::warn("teams: the OpenID metadata has no jwks_uri");
    co_return false;
  }
  auto document = co_await http_.request(boost::beast::http::verb::get, *jwks_uri, {});
  if (!document.reached || document.status != 200) {
    spdlog::warn("teams: signing keys {} not available", *jwks_uri);
    co_return false;
  }
  auto parsed = key_set::parse(document.body);
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    spdlog::warn("teams: signing keys unusable: {}", *problem);
    co_return false;
  }
  keys_ = std::get<key_set>(std::move(parsed));
  spdlog::info("teams: {} signing keys loaded", keys_->size());
  co_return true;
}

boost::asio::awaitable<std::optional<key_set>> key_cache::keys(bool unknown_key_seen) {
  const auto now = std::chrono::steady_clock::now();
  const bool stale = !keys_ || now - fetched_at_ >= keep_keys_for;
  const bool rotation = unknown_key_seen && (!forced_at_ || now - *forced_at_ >= least_between_refreshes);
  if (rotation) forced_at_ = now;
  if (stale || rotation) co_await refresh();
  co_return keys_;
}

}  // namespace releasebot::integrations::teams
