#include "integrations/teams/teams_app.hpp"

#include "integrations/net/json_reader.hpp"
#include "integrations/teams/adaptive_card.hpp"
#include "integrations/teams/jwt.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace asio = boost::asio;

namespace releasebot::integrations::teams {

namespace {

net::server_response refusal(int status, const std::string& reason) {
  return net::json_response(status, {{"error", reason}});
}

}  // namespace

teams_app::teams_app(bot::module_context& context, teams_settings settings)
    : context_{context},
      settings_{std::move(settings)},
      tls_{net::make_client_tls_context()},
      http_{context.executor, tls_},
      keys_{http_, settings_.openid_metadata_url},
      connector_{context.executor, http_, settings_},
      roster_{context.db, connector_},
      sender_{context.db, connector_, roster_},
      stopped_{context.executor, asio::steady_timer::time_point::max()} {
  if (settings_.allowed_tenants.empty()) settings_.allowed_tenants.push_back(settings_.tenant_id);
  context_.routes.add("POST", "/api/messages",
                      [this](net::server_request request) { return on_request(std::move(request)); },
                      net::route_limits{256 * 1024, std::chrono::seconds{10}});
}

teams_app::~teams_app() = default;

void teams_app::stop() {
  stopping_ = true;
  stopped_.cancel();
}

bot::readiness teams_app::ready() const {
  if (!keys_.has_keys()) return {false, "teams: no Bot Framework signing keys from " + settings_.openid_metadata_url};
  if (!connector_.authenticated()) {
    return {false, "teams: no access token — check MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and MICROSOFT_APP_TENANT_ID"};
  }
  return {true, {}};
}

asio::awaitable<std::string> teams_app::run() {
  // Fetched now rather than at the first request, so that /readyz tells the truth from the start.
  // (Awaited into locals: GCC 12 miscompiles a co_await whose result is a temporary in an `if`.)
  const auto keys = co_await keys_.keys(false);
  if (!keys) spdlog::warn("teams: no signing keys from {} yet", settings_.openid_metadata_url);
  const bool authenticated = co_await connector_.authenticate();
  if (!authenticated) spdlog::warn("teams: no access token yet");
  while (!stopping_) co_await stopped_.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::string{};
}

asio::awaitable<net::server_response> teams_app::on_request(net::server_request request) {
  const auto token = bearer_token(request.headers["authorization"]);
  if (token.empty()) {
    spdlog::warn("teams: request without a bearer token refused");
    co_return refusal(401, "missing bearer token");
  }
  auto decoded_or_error = decode_activity(request.body, settings_.app_id);
  if (const auto* problem = std::get_if<activity_error>(&decoded_or_error)) {
    spdlog::warn("teams: malformed activity refused: {}", problem->problem);
    co_return refusal(400, problem->problem);
  }
  auto decoded = std::get<decoded_activity>(std::move(decoded_or_error));
  const auto& where = decoded.conversation;

  token_expectations expected;
  expected.audience = settings_.app_id;
  expected.service_url = where.service_url;
  auto keys = co_await keys_.keys(false);
  if (!keys) co_return refusal(503, "signing keys unavailable");
  auto checked = validate_token(token, *keys, expected, std::chrono::system_clock::now());
  if (const auto* rejection = std::get_if<token_rejection>(&checked); rejection && rejection->unknown_key) {
    keys = co_await keys_.keys(true);
    if (keys) checked = validate_token(token, *keys, expected, std::chrono::system_clock::now());
  }
  if (const auto* rejection = std::get_if<token_rejection>(&checked)) {
    spdlog::warn("teams: token refused: {}", rejection->reason);
    co_return refusal(401, "unauthorized");
  }
  if (std::find(settings_.allowed_tenants.begin(), settings_.allowed_tenants.end(), where.tenant_id) ==
      settings_.allowed_tenants.end()) {
    spdlog::warn("teams: activity from tenant '{}' refused: not in the allowed tenants", where.tenant_id);
    co_return refusal(403, "tenant not allowed");
  }
  if (!connector_.host_allowed(where.service_url)) {
    spdlog::warn("teams: activity with service URL {} refused: host not allowed", where.service_url);
    co_return refusal(403, "service URL not allowed");
  }

  // Learnt again from every activity: no sync of its own (it rides on the command's commit).
  const auto reachable = roster_.remember(decoded);
  if (!reachable.empty() && context_.after_change) context_.after_change();
  const bool installed_in_team = decoded.bot_added || decoded.installation_action == "add" ||
                                 decoded.installation_action == "add-upgrade";
  if (installed_in_team && !decoded.team_id.empty()) {
    // Read after the 200: a large team's roster takes many pages.
    asio::co_spawn(context_.executor, read_roster(where, decoded.team_id), asio::detached);
  } else if (!decoded.members_added.empty() && !decoded.team_id.empty()) {
    asio::co_spawn(context_.executor, roster_.read_members(where.service_url, decoded.team_id, decoded.members_added),
                   asio::detached);
  }

  if (!decoded.event) co_return net::json_response(200, nlohmann::json::object());
  auto event = *decoded.event;  // channel and thread already split from the conversation id
  co_await roster_.resolve_mentions(event, decoded);
  const auto result = co_await context_.dispatch(event);
  if (result.changed && context_.after_change) context_.after_change();
  context_.stats.observe("releasebot_ack_seconds", {{"platform", "teams"}},
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - request.received).count());
  if (decoded.is_card_action) {
    // The answer is the invoke's own response: a redelivery is answered alike and posts nothing.
    auto reply = result.reply;
    roster_.name(reply);
    if (result.refused) {
      co_return net::json_response(200, {{"statusCode", 200},
                                  {"type", "application/vnd.microsoft.activity.message"},
                                  {"value", reply.plain_text()}});
    }
    co_return net::json_response(200, {{"statusCode", 200},
                                {"type", "application/vnd.microsoft.card.adaptive"},
                                {"value", render_card(reply)}});
  }
  if (!context_.replies.claim(event, result)) co_return net::json_response(200, nlohmann::json::object());
  // Answered after the 200, so Teams never waits on the connector.
  asio::co_spawn(context_.executor, answer(where, decoded.activity_id, std::move(event), result), asio::detached);
  co_return net::json_response(200, nlohmann::json::object());
}

asio::awaitable<void> teams_app::read_roster(conversation_reference where, std::string team_id) {
  const auto outcome = co_await roster_.read_team(where.service_url, team_id, where.tenant_id);
  if (outcome.members > 0 && context_.after_change) context_.after_change();
}

asio::awaitable<void> teams_app::answer(conversation_reference where, std::string reply_to_id, bot::inbound event,
                                        bot::dispatch_result result) {
  bool ok = false;
  try {
    auto reply = result.reply;
    roster_.name(reply);
    auto activity = render_activity(reply);
    activity["replyToId"] = reply_to_id;
    const auto sent = co_await connector_.answer(where.service_url, where.conversation_id, std::move(activity));
    if (!sent.ok) spdlog::warn("teams: could not answer in {}: {}", where.conversation_id, sent.error);
    ok = sent.ok;
  } catch (const std::exception& failure) {
    spdlog::error("teams: could not answer in {}: {}", where.conversation_id, failure.what());
  }
  context_.replies.settle(event, result, ok);
}

}  // namespace releasebot::integrations::teams
