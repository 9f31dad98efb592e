#include "tests/fakes/fake_forge.hpp"

#include "integrations/net/http_server.hpp"
#include "integrations/webhooks/signatures.hpp"
#include "tests/fakes/test_ca.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace asio = boost::asio;
namespace net = releasebot::integrations::net;

namespace releasebot::testing {

struct fake_forge::state {
  test_ca ca;
  std::string cert_file;
  std::string key_file;
  asio::io_context io{1};
  net::http_router routes;
  std::unique_ptr<net::http_server> server;
  std::thread thread;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<forge_call> calls;
  int fail_times = 0;
  int fail_status = 0;
  std::string fail_message;
  bool refuse_run_details = false;
  std::chrono::milliseconds delay{0};
  long long next_run = 100;

  asio::awaitable<net::server_response> answer(net::server_request request) {
    std::chrono::milliseconds wait{0};
    forge_call call{request.path, request.headers, request.body, 0};
    net::server_response response;
    {
      std::lock_guard lock{mutex};
      wait = std::exchange(delay, std::chrono::milliseconds{0});
      if (fail_times > 0) {
        --fail_times;
        response = net::json_response(fail_status, {{"message", fail_message}});
      } else if (request.path.find("/actions/workflows/") != std::string::npos &&
                 request.path.ends_with("/dispatches")) {
        const auto body = nlohmann::json::parse(request.body, nullptr, false);
        const bool details = body.is_object() && body.value("return_run_details", false);
        if (details && refuse_run_details) {
          response = net::json_response(
              422, {{"message", "Invalid request.\n\n\"return_run_details\" is not a permitted key."}});
        } else if (details) {
          const auto run = next_run++;
          const auto repository = request.path.substr(7, request.path.find("/actions/") - 7);  // after "/repos/"
          response = net::json_response(
              200, {{"workflow_run_id", run},
                    {"run_url", "https://api.github.com/repos/" + repository + "/actions/runs/" + std::to_string(run)},
                    {"html_url", "https://github.com/" + repository + "/actions/runs/" + std::to_string(run)}});
        } else {
          response.status = 204;
          response.content_type.clear();
        }
      } else if (request.path.starts_with("/api/v4/projects/") && request.path.ends_with("/trigger/pipeline")) {
        const auto run = next_run++;
        response = net::json_response(
            201, {{"id", run}, {"status", "created"},
                  {"web_url", "https://gitlab.example.com/acme/shop/-/pipelines/" + std::to_string(run)}});
      } else if (request.path == "/script") {
        response = net::json_response(202, {{"url", "https://ci.example.com/job/17"}});
      } else {
        response = net::json_response(404, {{"message", "Not Found"}});
      }
      call.status = response.status;
      calls.push_back(std::move(call));  // received: from now on it happened, answered or not
    }
    changed.notify_all();
    if (wait.count() > 0) {
      asio::steady_timer timer{io, wait};
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return response;
  }
};

namespace {

std::string write_temp(const std::string& content, const char* suffix) {
  std::string path = "/tmp/releasebot-forge-XXXXXX";
  path += suffix;
  const int fd = ::mkstemps(path.data(), static_cast<int>(std::string_view{suffix}.size()));
  if (fd < 0) throw std::runtime_error{"cannot create a temporary file"};
  ::close(fd);
  std::ofstream{path} << content;
  return path;
}

}  // namespace

fake_forge::fake_forge() : state_{std::make_unique<state>()} {
  auto& s = *state_;
  s.cert_file = write_temp(s.ca.server_cert_pem(), ".pem");
  s.key_file = write_temp(s.ca.server_key_pem(), ".key");
  for (const auto* path : {"/repos/*", "/api/v4/*", "/script"}) {
    s.routes.add("POST", path, [&s](net::server_request request) { return s.answer(std::move(request)); });
  }
  net::server_settings settings;
  settings.listen = "127.0.0.1:0";
  settings.tls_certificate = s.cert_file;
  settings.tls_private_key = s.key_file;
  s.server = std::make_unique<net::http_server>(s.io.get_executor(), settings, s.routes);
  asio::co_spawn(s.io, s.server->run(), asio::detached);
  s.thread = std::thread{[&s] { s.io.run(); }};
}

fake_forge::~fake_forge() {
  auto& s = *state_;
  asio::post(s.io, [&s] { s.server->stop(); });
  s.io.stop();
  s.thread.join();
  std::remove(s.cert_file.c_str());
  std::remove(s.key_file.c_str());
}

std::string fake_forge::base_url() const { return "https://127.0.0.1:" + std::to_string(state_->server->port()); }
std::string fake_forge::ca_file() const { return state_->ca.ca_file(); }

std::vector<forge_call> fake_forge::calls() const {
  std::lock_guard lock{state_->mutex};
  return state_->calls;
}

std::optional<forge_call> fake_forge::wait_for_call(const std::function<bool(const forge_call&)>& match,
                                                    std::chrono::milliseconds timeout) const {
  std::unique_lock lock{state_->mutex};
  std::optional<forge_call> found;
  state_->changed.wait_for(lock, timeout, [&] {
    for (const auto& call : state_->calls) {
      if (match(call)) {
        found = call;
        return true;
      }
    }
    return false;
  });
  return found;
}

void fake_forge::fail_next_calls(int status, int times, std::string message) {
  std::lock_guard lock{state_->mutex};
  state_->fail_status = status;
  state_->fail_times = times;
  state_->fail_message = std::move(message);
}

void fake_forge::refuse_run_details(bool refuse) {
  std::lock_guard lock{state_->mutex};
  state_->refuse_run_details = refuse;
}

void fake_forge::delay_next_call(std::chrono::milliseconds delay) {
  std::lock_guard lock{state_->mutex};
  state_->delay = delay;
}

forge_delivery fake_forge::workflow_run(const std::string& secret, const std::string& delivery_id,
                                        const std::string& action, const std::string& conclusion,
                                        const std::string& workflow, const std::string& title, long long run_id) const {
  const auto run = std::to_string(run_id);
  nlohmann::json body{
      {"action", action},
      {"workflow_run",
       {{"id", run_id},
        {"name", workflow},
        {"display_title", title},
        {"head_branch", "main"},
        {"head_sha", "9fceb02d0ae598e95dc970b74767f19372d61af8"},
        {"run_number", run_id},
        {"event", "workflow_dispatch"},
        {"status", action == "completed" ? "completed" : action == "requested" ? "queued" : "in_progress"},
        {"conclusion", conclusion.empty() ? nlohmann::json(nullptr) : nlohmann::json(conclusion)},
        {"html_url", "https://github.com/acme/shop/actions/runs/" + run}}},
      {"repository", {{"full_name", "acme/shop"}}},
      {"sender", {{"login", "octocat"}}}};
  forge_delivery delivery;
  delivery.body = body.dump();
  delivery.headers = {{"Content-Type", "application/json"},
                      {"User-Agent", "GitHub-Hookshot/044aadd"},
                      {"X-GitHub-Event", "workflow_run"},
                      {"X-GitHub-Delivery", delivery_id},
                      {"X-GitHub-Hook-ID", "292430182"},
                      {"X-Hub-Signature-256", integrations::webhooks::github_signature(secret, delivery.body)}};
  return delivery;
}

}  // namespace releasebot::testing
