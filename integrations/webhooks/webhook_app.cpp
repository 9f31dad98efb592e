#include "integrations/webhooks/webhook_app.hpp"

#include "integrations/net/json_reader.hpp"
#include "integrations/webhooks/signatures.hpp"
#include "integrations/webhooks/standard_webhooks.hpp"
#include "storage/outbox.hpp"
#include "storage/release_repository.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <set>

namespace asio = boost::asio;

namespace releasebot::integrations::webhooks {

namespace {

constexpr std::size_t max_body_bytes = 64 * 1024;

// Fault injection for the crash tests: die after a commit and before the answer, as kill -9 would.
bool crash_after_commit() {
  static const bool armed = [] {
    const char* point = std::getenv("RELEASEBOT_FAILPOINT");
    return point != nullptr && std::string_view{point} == "webhook_after_commit";
  }();
  return armed;
}

}  // namespace

webhook_app::webhook_app(bot::module_context& context, std::vector<source_settings> sources)
    : context_{context}, sources_{std::move(sources)}, stopped_{context.executor, asio::steady_timer::time_point::max()} {
  for (const auto& source : sources_) {
    context_.routes.add("POST", "/hooks/" + source.name,
                        [this, &source](net::server_request request) { return on_request(source, std::move(request)); },
                        net::route_limits{max_body_bytes, std::chrono::seconds{10}});
  }
}

void webhook_app::stop() {
  stopping_ = true;
  stopped_.cancel();
}

asio::awaitable<std::string> webhook_app::run() {
  for (const auto& source : sources_) spdlog::info("webhooks: {} posts to /hooks/{}", source.display_name, source.name);
  while (!stopping_) co_await stopped_.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::string{};
}

namespace {

// Who sent it and which delivery it is, or why it is refused (401; 400 when the id is missing).
struct verified {
  std::string problem;
  int status = 401;
  std::string delivery_id;
};

verified verify_request(const source_settings& source, net::server_request& request) {
  verified out;
  switch (source.kind) {
    case source_kind::generic:
      out.problem = verify(source.key, request.headers["webhook-id"], request.headers["webhook-timestamp"],
                           request.headers["webhook-signature"], request.body,
                           std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
      out.delivery_id = request.headers["webhook-id"];
      return out;
    case source_kind::github:
      out.problem = verify_github(source.key, request.headers["x-hub-signature-256"], request.body);
      out.delivery_id = request.headers["x-github-delivery"];
      if (out.problem.empty() && out.delivery_id.empty()) out = {"X-GitHub-Delivery is missing", 400, {}};
      return out;
    case source_kind::gitlab:
      out.problem = verify_gitlab(source.key, request.headers["x-gitlab-token"]);
      // Kept across GitLab's retries (17.4 on); the event's UUID before that.
      out.delivery_id = request.headers["idempotency-key"];
      if (out.delivery_id.empty()) out.delivery_id = request.headers["x-gitlab-event-uuid"];
      if (out.problem.empty() && out.delivery_id.empty()) {
        out = {"Idempotency-Key and X-Gitlab-Event-UUID are missing", 400, {}};
      }
      return out;
  }
  return out;
}

forge_report report_of(const source_settings& source, net::server_request& request) {
  switch (source.kind) {
    case source_kind::github:
      return command_of_github_event(request.headers["x-github-event"], request.body, source);
    case source_kind::gitlab:
      return command_of_gitlab_event(request.headers["x-gitlab-event"], request.body, source);
    case source_kind::generic:
      break;
  }
  auto generic = command_of_pipeline_event(request.body, source);
  if (auto* problem = std::get_if<pipeline_problem>(&generic)) return std::move(*problem);
  return std::get<commands::deploy_command>(std::move(generic));
}

}  // namespace

void webhook_app::tell_thread(const source_settings& source, const commands::deploy_command& command,
                              const commands::message& refusal) {
  // A pipeline's report the bot could not record: the release's people should know, not only the
  // pipeline's delivery log. Nothing about the release changes. A forge repeats itself (a run is
  // requested, then in progress) and is redelivered: the same report is told once an hour.
  const auto key = source.name + "|" + command.version + "|" + command.environment + "|" + command.action;
  const auto now = std::chrono::steady_clock::now();
  if (const auto told = told_.find(key); told != told_.end() && now - told->second < std::chrono::hours{1}) return;
  if (told_.size() > 1000) told_.clear();
  told_[key] = now;
  try {
    storage::transaction tx{context_.db};
    const auto release = storage::release_repository{context_.db}.find_by_version(command.version);
    if (!release || release->state != "active") return;
    commands::message_builder notice{commands::message_kind::error};
    const auto what = command.action == "start"  ? "that the deployment of "
                      : command.action == "step" ? "a step of the deployment of "
                                                 : "the end of the deployment of ";
    notice.text("⚠️ " + source.display_name + " reported " + what).strong(release->version);
    notice.text(" to ").strong(command.environment).text(command.action == "start" ? " started" : "");
    notice.text(", which I could not record: ").user_text(refusal.plain_text());
    auto out = commands::addressed(*release, notice.build(),
                                   std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    out.destination = "thread";
    storage::outbox{context_.db}.enqueue(out);
    tx.commit();
  } catch (const std::exception& error) {
    spdlog::warn("webhooks: could not tell {}'s thread about a refused report: {}", command.version, error.what());
    return;
  }
  if (context_.after_change) context_.after_change();
}

asio::awaitable<net::server_response> webhook_app::on_request(const source_settings& source,
                                                              net::server_request request) {
  const auto checked = verify_request(source, request);
  if (!checked.problem.empty()) {
    spdlog::warn("webhooks: {} refused: {}", source.name, checked.problem);
    co_return net::json_response(checked.status, {{"error", checked.problem}});
  }
  const auto& id = checked.delivery_id;
  auto report = report_of(source, request);
  if (const auto* bad = std::get_if<pipeline_problem>(&report)) {
    spdlog::warn("webhooks: {} sent a body I cannot use: {}", source.name, bad->problem);
    co_return net::json_response(bad->status, {{"error", bad->problem}});
  }
  if (const auto* ignored = std::get_if<ignored_event>(&report)) {
    spdlog::debug("webhooks: {} ({}) ignored: {}", source.name, id, ignored->reason);
    co_return net::json_response(200, {{"ok", true}, {"ignored", ignored->reason}});
  }
  bot::inbound event;
  event.platform = "webhook";
  event.event_id = source.name + ":" + id;  // a repeated delivery id is a redelivery: applied once
  event.user = "webhook:" + source.name;
  event.command = std::get<commands::deploy_command>(std::move(report));
  const auto result = co_await context_.dispatch(event);
  if (result.changed && crash_after_commit()) std::_Exit(137);
  if (result.changed && context_.after_change) context_.after_change();
  context_.stats.observe("releasebot_ack_seconds", {{"platform", "webhook"}},
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - request.received).count());
  const auto said = result.reply.plain_text();
  if (result.failed) co_return net::json_response(503, {{"error", said}});
  if (result.refused) {
    spdlog::info("webhooks: {} ({}) refused: {}", source.name, id, said);
    tell_thread(source, std::get<commands::deploy_command>(*event.command), result.reply);
    co_return net::json_response(422, {{"error", said}});
  }
  co_return net::json_response(200, {{"ok", true}, {"duplicate", result.duplicate}, {"reply", said}});
}

}  // namespace releasebot::integrations::webhooks
