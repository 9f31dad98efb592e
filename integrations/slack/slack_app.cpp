#include "integrations/slack/slack_app.hpp"

#include "integrations/slack/block_kit.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace asio = boost::asio;

namespace releasebot::integrations::slack {

namespace {

// Fault injection for the crash tests: die after a commit and before its ack, as kill -9 would.
bool crash_after_commit() {
  static const bool armed = [] {
    const char* point = std::getenv("RELEASEBOT_FAILPOINT");
    return point != nullptr && std::string_view{point} == "slack_after_commit";
  }();
  return armed;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

slack_app::slack_app(bot::module_context& context, slack_settings settings)
    : context_{context}, settings_{std::move(settings)}, tls_{net::make_client_tls_context()} {
  bot_api_ = std::make_unique<web_api>(context_.executor, tls_, settings_.api_url, settings_.bot_token);
  app_api_ = std::make_unique<web_api>(context_.executor, tls_, settings_.api_url, settings_.app_token);
  people_ = std::make_unique<people_lookup>(*bot_api_, context_.db);
  sender_ = std::make_unique<outbox_sender>(*bot_api_, *people_);
  context_.stats.computed("releasebot_reconnects_total", bot::metrics::kind::counter,
                          "Connections to the platform opened again after the first", [this] {
                            const int made = socket_ ? socket_->connections_made() : 0;
                            return std::vector<std::pair<bot::metric_labels, double>>{
                                {{{"platform", "slack"}}, static_cast<double>(std::max(0, made - 1))}};
                          });
}

slack_app::~slack_app() = default;

void slack_app::stop() {
  stopping_ = true;
  if (socket_) socket_->stop();
}

bot::readiness slack_app::ready() const {
  if (bot_user_id_.empty()) return {false, "slack: " + web_api_problem_};
  if (!socket_ || !socket_->connected()) return {false, "slack: Socket Mode is not connected"};
  return {true, {}};
}

asio::awaitable<void> slack_app::answer(reply_route route, envelope_type type, bot::inbound event,
                                        bot::dispatch_result result) {
  bool ok = false;
  try {
    auto reply = result.reply;
    co_await people_->name(reply);
    nlohmann::json arguments{{"channel", route.channel}, {"text", render_fallback(reply)}, {"blocks", render_blocks(reply)}};
    std::string method = "chat.postEphemeral";
    if (route.direct_message || result.make_public) {
      method = "chat.postMessage";
    } else {
      arguments["user"] = route.user;
    }
    if (!route.thread_ts.empty() && type == envelope_type::events_api) arguments["thread_ts"] = route.thread_ts;
    const auto posted = co_await bot_api_->call(method, arguments);
    if (!posted.ok) spdlog::warn("slack: could not answer {}: {}", route.user, posted.error);
    ok = posted.ok;
  } catch (const std::exception& failure) {
    spdlog::error("slack: could not answer {}: {}", route.user, failure.what());
  }
  context_.replies.settle(event, result, ok);
}

asio::awaitable<nlohmann::json> slack_app::handle(const envelope& env) {
  const auto received = std::chrono::steady_clock::now();
  if (!env.event) {
    if (!env.ignored_because.empty()) spdlog::debug("slack: ignored {}: {}", env.envelope_id, env.ignored_because);
    co_return nullptr;
  }
  auto event = *env.event;
  if (env.retry_attempt > 0) spdlog::info("slack: redelivery {} of {} ({})", env.retry_attempt, env.envelope_id, env.retry_reason);
  const auto speaker = co_await people_->person(event.user);
  event.time_zone = speaker.time_zone;
  const auto result = co_await context_.dispatch(event);
  if (result.changed && crash_after_commit()) std::_Exit(137);
  if (result.changed && context_.after_change) context_.after_change();
  context_.stats.observe("releasebot_ack_seconds", {{"platform", "slack"}}, seconds_since(received));
  if (env.route.slash_command) {
    // The answer is the ack itself: a redelivery is answered alike, and Slack shows it once.
    auto reply = result.reply;
    people_->name_from_directory(reply);
    co_return nlohmann::json{{"response_type", result.make_public ? "in_channel" : "ephemeral"},
                             {"text", render_fallback(reply)},
                             {"blocks", render_blocks(reply)}};
  }
  if (!context_.replies.claim(event, result)) co_return nullptr;
  // Answered after the ack, so Slack's 3 s deadline never waits on another API call.
  asio::co_spawn(context_.executor, answer(env.route, env.type, std::move(event), result), asio::detached);
  co_return nullptr;
}

asio::awaitable<std::string> slack_app::run() {
  const auto identity = co_await bot_api_->call(std::string{"auth.test"}, nlohmann::json::object(), false, 3);
  if (!identity.ok) {
    web_api_problem_ = identity.error;
    if (classify_slack_error(identity.error_code) == failure_kind::fatal) {
      co_return "Slack refused the bot token (" + identity.error + ") — check SLACK_BOT_TOKEN (xoxb-…)";
    }
    co_return "cannot reach Slack's Web API at " + settings_.api_url + " (" + identity.error + ")";
  }
  if (stopping_) co_return std::string{};
  bot_user_id_ = identity.body.value("user_id", std::string{});
  spdlog::info("slack: connected to the Web API as {}", bot_user_id_);
  socket_ = std::make_unique<socket_mode_client>(
      context_.executor, tls_, *app_api_, bot_user_id_, [this](const envelope& env) { return handle(env); },
      settings_.socket);
  co_return co_await socket_->run();
}

}  // namespace releasebot::integrations::slack
