#include "bot/operations.hpp"

#include "storage/outbox.hpp"

#include <nlohmann/json.hpp>

namespace releasebot::bot {

namespace net = integrations::net;

void describe_metrics(metrics& stats, storage::database& db) {
  stats.describe("releasebot_commands_total", metrics::kind::counter,
                 "Commands handled, by command family and outcome (applied, answered, refused, duplicate, failed)");
  stats.describe("releasebot_ack_seconds", metrics::kind::histogram,
                 "Time from receiving an event to acknowledging it, by platform", metrics::latency_buckets());
  stats.describe("releasebot_deliveries_total", metrics::kind::counter,
                 "Outbox delivery attempts by platform and result (sent, retried, rate_limited, failed, found_posted)");
  stats.describe("releasebot_timer_firings_total", metrics::kind::counter, "Durable timers fired, by kind");
  stats.describe("releasebot_db_commit_seconds", metrics::kind::histogram, "Time a database commit took",
                 metrics::latency_buckets());
  stats.computed("releasebot_outbox_pending", metrics::kind::gauge, "Outbox messages not yet delivered, by platform",
                 [&db] {
                   std::vector<std::pair<metric_labels, double>> samples;
                   for (const auto& backlog : storage::outbox{db}.backlog()) {
                     samples.push_back({{{"platform", backlog.platform}}, static_cast<double>(backlog.pending)});
                   }
                   return samples;
                 });
  stats.computed("releasebot_outbox_oldest_age_seconds", metrics::kind::gauge,
                 "Age of the oldest undelivered outbox message, by platform", [&db] {
                   std::vector<std::pair<metric_labels, double>> samples;
                   const auto now = std::chrono::system_clock::now();
                   for (const auto& backlog : storage::outbox{db}.backlog()) {
                     if (!backlog.oldest) continue;
                     const std::chrono::duration<double> age = now - *backlog.oldest;
                     samples.push_back({{{"platform", backlog.platform}}, std::max(0.0, age.count())});
                   }
                   return samples;
                 });
  db.on_commit([&stats](std::chrono::steady_clock::duration took) {
    stats.observe("releasebot_db_commit_seconds", {}, std::chrono::duration<double>(took).count());
  });
}

void add_operations_routes(net::http_router& routes, storage::database& db, metrics& stats,
                           const std::vector<std::unique_ptr<platform_module>>& modules) {
  const net::route_limits small{1024, std::chrono::seconds{5}};
  routes.add(
      "GET", "/healthz",
      [](net::server_request) -> boost::asio::awaitable<net::server_response> { co_return net::plain_response(200, "ok\n"); },
      small);
  routes.add(
      "GET", "/readyz",
      [&db, &modules](net::server_request) -> boost::asio::awaitable<net::server_response> {
        std::string problems;
        if (!db.reachable()) problems += "database: " + db.name() + " does not answer\n";
        for (const auto& module : modules) {
          if (const auto state = module->ready(); !state.ready) problems += state.reason + "\n";
        }
        if (problems.empty()) co_return net::plain_response(200, "ready\n");
        co_return net::plain_response(503, "not ready:\n" + problems);
      },
      small);
  routes.add(
      "GET", "/metrics",
      [&stats](net::server_request) -> boost::asio::awaitable<net::server_response> {
        co_return net::server_response{200, "text/plain; version=0.0.4; charset=utf-8", stats.render(), {}};
      },
      small);
}

}  // namespace releasebot::bot
