#include "integrations/webhooks/pipeline_runner.hpp"

#include "integrations/net/https_endpoint.hpp"
#include "integrations/net/json_reader.hpp"
#include "integrations/webhooks/standard_webhooks.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace releasebot::integrations::webhooks {

namespace {

std::string string_in(std::string_view body, const char* key) {
  const auto parsed = net::parse_json_or_discarded(body);
  if (!parsed.is_object()) return {};
  const auto found = parsed.find(key);
  return found != parsed.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

// What the outbox row asks for (written by the deploy handler).
struct run_request {
  std::string version;
  std::string environment;
  std::string asked_by;
};

std::optional<run_request> request_of(const storage::outbox_message& message) {
  const auto payload = net::parse_json_or_discarded(message.payload);
  if (!payload.is_object()) return std::nullopt;
  run_request out{string_in(message.payload, "version"), string_in(message.payload, "environment"),
                  string_in(message.payload, "asked_by")};
  if (out.version.empty() || out.environment.empty()) return std::nullopt;
  return out;
}

std::string path_segment(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0x0f];
    }
  }
  return out;
}

std::string trimmed_base(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The forge's own words for a refusal: GitHub and GitLab put them in "message" (GitLab also "error").
std::string reason_in(const net::http_result& answer) {
  const auto body = net::parse_json_or_discarded(answer.body);
  std::string said;
  if (body.is_object()) {
    for (const auto* key : {"message", "error", "error_description"}) {
      if (const auto found = body.find(key); found != body.end()) {
        said = found->is_string() ? found->get<std::string>() : found->dump();
        break;
      }
    }
  }
  if (said.empty()) said = net::utf8_prefix(answer.body, 200);
  for (auto& c : said) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return said;
}

std::string forge_of(const pipeline_target& target) {
  switch (target.kind) {
    case source_kind::github: return "GitHub";
    case source_kind::gitlab: return "GitLab";
    case source_kind::generic: break;
  }
  return "the release script";
}

commands::message started_notice(const pipeline_target& target, const run_request& run, const std::string& link) {
  commands::message_builder notice{commands::message_kind::announcement};
  notice.text("🏃 " + target.display_name + " is deploying ").strong(run.version).text(" to ").strong(run.environment);
  if (link.empty()) {
    notice.text(" — its progress will appear here.");
  } else {
    notice.text(": ").user_text(link);
  }
  return notice.build();
}

commands::message refused_notice(const pipeline_target& target, const run_request& run, const std::string& why) {
  commands::message_builder notice{commands::message_kind::error};
  notice.text("⚠️ " + target.display_name + " did not start the deployment of ").strong(run.version);
  notice.text(" to ").strong(run.environment);
  if (!run.asked_by.empty()) notice.text(" that ").mention(run.asked_by).text(" asked for");
  notice.text(": ").user_text(why);
  return notice.build();
}

bot::delivery_result refused(const pipeline_target& target, const run_request& run, std::string why) {
  auto result = bot::delivery_result::refused(why);
  result.thread_notice = refused_notice(target, run, why);
  return result;
}

// How a forge's answer settles the request.
bot::delivery_result settle(const pipeline_target& target, const run_request& run, const net::http_result& answer,
                            const std::string& link) {
  if (!answer.reached) return bot::delivery_result::retry(answer.error, !answer.maybe_delivered);
  const auto status = answer.status;
  if (status >= 200 && status < 300) {
    auto result = bot::delivery_result::sent(link);
    result.thread_notice = started_notice(target, run, link);
    return result;
  }
  const auto said = forge_of(target) + " answered " + std::to_string(status) + ": " + reason_in(answer);
  const auto retry_after = [&]() -> std::optional<std::chrono::seconds> {
    const auto found = answer.headers.find("retry-after");
    if (found == answer.headers.end()) return std::nullopt;
    long long seconds = 0;
    const auto [end, error] = std::from_chars(found->second.data(), found->second.data() + found->second.size(), seconds);
    if (error != std::errc{} || seconds < 0) return std::nullopt;
    return std::chrono::seconds{std::min(seconds, 3600LL)};
  }();
  // GitHub's secondary rate limit is a 403 with Retry-After; its primary one says remaining 0.
  const bool rate_limited = status == 429 || (status == 403 && retry_after) ||
                            (status == 403 && answer.headers.contains("x-ratelimit-remaining") &&
                             answer.headers.at("x-ratelimit-remaining") == "0");
  if (rate_limited) return bot::delivery_result::rate_limited(retry_after.value_or(std::chrono::seconds{60}), said);
  if (status >= 500 || status == 408) return bot::delivery_result::retry(said);
  if (status == 401 || status == 403) {
    return refused(target, run,
                   said + " — the token in " + target.token_env + " was refused; give it the right to run the " +
                       (target.kind == source_kind::gitlab ? "pipeline" : "workflow") + " and restart the bot");
  }
  if (status == 404) {
    return refused(target, run,
                   said + " — check [pipelines." + target.environment + "]: the " +
                       (target.kind == source_kind::github ? "repository and workflow" : "project or URL") +
                       " must exist and the token must see them");
  }
  return refused(target, run, said);
}

}  // namespace

namespace {

// One request to a pipeline, built outside the coroutine that sends it.
struct outgoing {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

outgoing outgoing_request(const pipeline_target& target, const run_request& run, storage::row_id message_id,
                          bool with_run_details) {
  outgoing out;
  switch (target.kind) {
    case source_kind::github: {
      out.url = trimmed_base(target.url) + "/repos/" + target.project + "/actions/workflows/" +
                path_segment(target.workflow) + "/dispatches";
      nlohmann::json body;
      body["ref"] = target.ref;
      body["inputs"]["version"] = run.version;
      body["inputs"]["env"] = run.environment;
      if (with_run_details) body["return_run_details"] = true;
      out.body = body.dump();
      out.headers.emplace_back("Accept", "application/vnd.github+json");
      out.headers.emplace_back("Authorization", "Bearer " + target.token);
      out.headers.emplace_back("X-GitHub-Api-Version", "2022-11-28");
      out.headers.emplace_back("Content-Type", "application/json");
      break;
    }
    case source_kind::gitlab: {
      out.url = trimmed_base(target.url) + "/api/v4/projects/" + path_segment(target.project) + "/trigger/pipeline";
      std::vector<std::pair<std::string, std::string>> fields;
      fields.emplace_back("token", target.token);
      fields.emplace_back("ref", target.ref);
      fields.emplace_back("variables[RELEASE_VERSION]", run.version);
      fields.emplace_back("variables[RELEASE_ENV]", run.environment);
      out.body = net::form_encode(fields);
      out.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      break;
    }
    case source_kind::generic: {
      out.url = target.url;
      nlohmann::json body;
      body["release"] = run.version;
      body["environment"] = run.environment;
      body["event"] = "run";
      body["asked_by"] = run.asked_by;
      out.body = body.dump();
      // The same id on every attempt: the script can refuse a repeat as the bot's own endpoint does.
      const auto id = "run_" + std::to_string(message_id);
      const auto timestamp = std::to_string(
          std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()).time_since_epoch().count());
      out.headers.emplace_back("Content-Type", "application/json");
      out.headers.emplace_back("webhook-id", id);
      out.headers.emplace_back("webhook-timestamp", timestamp);
      out.headers.emplace_back("webhook-signature", sign(target.token, id, timestamp, out.body));
      break;
    }
  }
  return out;
}

// The run's page, when the forge says: GitHub's html_url (200 with run details), GitLab's web_url,
// a script's url.
std::string link_in(const pipeline_target& target, const net::http_result& answer) {
  if (!answer.reached || answer.status < 200 || answer.status >= 300) return {};
  switch (target.kind) {
    case source_kind::github: return string_in(answer.body, "html_url");
    case source_kind::gitlab: return string_in(answer.body, "web_url");
    case source_kind::generic: break;
  }
  return string_in(answer.body, "url");
}

}  // namespace

pipeline_runner::pipeline_runner(bot::module_context& context, std::vector<pipeline_target> targets)
    : targets_{std::move(targets)},
      tls_{net::make_client_tls_context()},
      client_{context.executor, tls_},
      stopped_{context.executor, asio::steady_timer::time_point::max()} {
  client_.reuse_connections(false);
}

std::string_view pipeline_runner::platform() const { return commands::pipeline_platform; }

void pipeline_runner::stop() {
  stopping_ = true;
  stopped_.cancel();
}

asio::awaitable<std::string> pipeline_runner::run() {
  for (const auto& target : targets_) {
    spdlog::info("pipelines: `deploy <version> {} run` starts {}", target.environment, target.display_name);
  }
  while (!stopping_) co_await stopped_.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::string{};
}

const pipeline_target* pipeline_runner::target_of(std::string_view environment) const {
  for (const auto& target : targets_) {
    if (target.environment == environment) return &target;
  }
  return nullptr;
}

asio::awaitable<std::optional<bot::delivery_result>> pipeline_runner::find_earlier(const bot::delivery_request& request,
                                                                                   storage::instant) {
  // Neither forge can be asked whether this request made a run, so it is not made again.
  const auto run = request_of(request.message).value_or(run_request{});
  const auto* target = target_of(request.message.channel);
  const auto name = target ? target->display_name : std::string{"the pipeline"};
  commands::message_builder notice{commands::message_kind::error};
  notice.text("⚠️ I cannot tell whether " + name + " started deploying ").strong(run.version).text(" to ");
  notice.strong(run.environment).text(" — the bot stopped or the connection broke while I asked — so I did not ask "
                                      "again: look at " + name + ", and if nothing runs, ");
  notice.code("deploy " + run.version + " " + run.environment + " run").text(" again.");
  auto result = bot::delivery_result::refused("may have been sent before the bot stopped; not repeated");
  result.thread_notice = notice.build();
  co_return result;
}

asio::awaitable<bot::delivery_result> pipeline_runner::send(const bot::delivery_request& request) {
  const auto run = request_of(request.message);
  if (!run) co_return bot::delivery_result::refused("unreadable pipeline request");
  const auto* target = target_of(request.message.channel);
  if (target == nullptr) {
    pipeline_target gone;
    gone.environment = request.message.channel;
    gone.display_name = "The pipeline";
    co_return refused(gone, *run, "no pipeline is configured for " + request.message.channel + " any more");
  }
  auto out = outgoing_request(*target, *run, request.message.id, true);
  auto answer = co_await client_.request(http::verb::post, out.url, out.headers, out.body);
  // A GitHub Enterprise Server older than the run details: the same request without them.
  if (target->kind == source_kind::github && answer.reached && (answer.status == 400 || answer.status == 422) &&
      answer.body.find("return_run_details") != std::string::npos) {
    out = outgoing_request(*target, *run, request.message.id, false);
    answer = co_await client_.request(http::verb::post, out.url, out.headers, out.body);
  }
  const auto link = link_in(*target, answer);
  auto result = settle(*target, *run, answer, link);
  if (result.kind == bot::delivery_result::outcome::sent) {
    spdlog::info("pipelines: {} deploys {} to {}{}", target->display_name, run->version, run->environment,
                 link.empty() ? "" : " (" + link + ")");
  }
  co_return result;
}

}  // namespace releasebot::integrations::webhooks
