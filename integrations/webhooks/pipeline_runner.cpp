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
  if (said.empty()) said = answer.body.substr(0, 200);
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
  const bool rate_limited = status == 429 || (status == 403 && answer.headers.contains("x-ratelimit-remaining") &&
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

pipeline_runner::pipeline_runner(bot::module_context& context, std::vector<pipeline_target> targets)
    : targets_{std::move(targets)},
      tls_{net::make_client_tls_context()},
      client_{context.executor, tls_},
      stopped_{context.executor, asio::steady_timer::time_point::max()} {}

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
  notice.text("⚠️ I stopped while asking " + name + " to deploy ").strong(run.version).text(" to ");
  notice.strong(run.environment).text(", so it may or may not have started. I did not ask again: look at " + name +
                                      ", and if nothing runs, ");
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
  net::http_result answer;
  std::string link;
  switch (target->kind) {
    case source_kind::github: {
      const auto url = trimmed_base(target->url) + "/repos/" + target->project + "/actions/workflows/" +
                       path_segment(target->workflow) + "/dispatches";
      nlohmann::json body{{"ref", target->ref}, {"inputs", {{"version", run->version}, {"env", run->environment}}}};
      const std::vector<std::pair<std::string, std::string>> headers{
          {"Accept", "application/vnd.github+json"},
          {"Authorization", "Bearer " + target->token},
          {"X-GitHub-Api-Version", "2022-11-28"},
          {"Content-Type", "application/json"}};
      auto with_details = body;
      with_details["return_run_details"] = true;
      answer = co_await client_.request(http::verb::post, url, headers, with_details.dump());
      // A GitHub Enterprise Server older than the run details: the same request without them.
      if (answer.reached && (answer.status == 400 || answer.status == 422) &&
          answer.body.find("return_run_details") != std::string::npos) {
        answer = co_await client_.request(http::verb::post, url, headers, body.dump());
      }
      if (answer.reached && answer.status == 200) {
        link = string_in(answer.body, "html_url");
      }
      break;
    }
    case source_kind::gitlab: {
      const auto url = trimmed_base(target->url) + "/api/v4/projects/" + path_segment(target->project) +
                       "/trigger/pipeline";
      const auto form = net::form_encode({{"token", target->token},
                                          {"ref", target->ref},
                                          {"variables[RELEASE_VERSION]", run->version},
                                          {"variables[RELEASE_ENV]", run->environment}});
      std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/x-www-form-urlencoded"}};
      answer = co_await client_.request(http::verb::post, url, std::move(headers), form);
      if (answer.reached && answer.status == 201) {
        link = string_in(answer.body, "web_url");
      }
      break;
    }
    case source_kind::generic: {
      const auto body = nlohmann::json{{"release", run->version},
                                       {"environment", run->environment},
                                       {"event", "run"},
                                       {"asked_by", run->asked_by}}
                            .dump();
      // The same id on every attempt: the script can refuse a repeat as the bot's own endpoint does.
      const auto id = "run_" + std::to_string(request.message.id);
      const auto timestamp = std::to_string(
          std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()).time_since_epoch().count());
      std::vector<std::pair<std::string, std::string>> headers{
          {"Content-Type", "application/json"},
          {"webhook-id", id},
          {"webhook-timestamp", timestamp},
          {"webhook-signature", sign(target->token, id, timestamp, body)}};
      answer = co_await client_.request(http::verb::post, target->url, std::move(headers), body);
      if (answer.reached && answer.status >= 200 && answer.status < 300) {
        link = string_in(answer.body, "url");
      }
      break;
    }
  }
  auto result = settle(*target, *run, answer, link);
  if (result.kind == bot::delivery_result::outcome::sent) {
    spdlog::info("pipelines: {} deploys {} to {}{}", target->display_name, run->version, run->environment,
                 link.empty() ? "" : " (" + link + ")");
  }
  co_return result;
}

}  // namespace releasebot::integrations::webhooks
