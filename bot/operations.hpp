// The operations endpoints every operator expects — GET /healthz (alive), GET /readyz (database
// reachable, every configured platform connected; 503 with the reasons otherwise), GET /metrics
// (Prometheus text format) — and the metrics the bot keeps.
#pragma once

#include "bot/metrics.hpp"
#include "bot/module.hpp"
#include "integrations/net/http_server.hpp"
#include "storage/database.hpp"

#include <functional>
#include <memory>
#include <vector>

namespace releasebot::bot {

// Describes every metric and the gauges read from storage (outbox depth and oldest age).
void describe_metrics(metrics& stats, storage::database& db);

void add_operations_routes(integrations::net::http_router& routes, storage::database& db, metrics& stats,
                           const std::vector<std::unique_ptr<platform_module>>& modules);

}  // namespace releasebot::bot
