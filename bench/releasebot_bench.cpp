// releasebot_bench: plays Slack on 127.0.0.1 (the tests' fake Slack, TLS on) against the real
// `releasebot run` binary and measures what issue 7 asks for. Every scenario starts a fresh bot
// on a fresh database; every loop has a count and a time limit. See bench/README.md.
#include "bench/bot_process.hpp"
#include "bench/stats.hpp"
#include "integrations/webhooks/standard_webhooks.hpp"
#include "tests/e2e/database_probe.hpp"
#include "tests/e2e/process.hpp"
#include "tests/fakes/fake_slack.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using releasebot::bench::bot_process;
using releasebot::bench::memory_use;
using releasebot::bench::round3;
using releasebot::bench::summarize;
using releasebot::bench::summary;
using releasebot::bench::to_json;
using releasebot::testing::api_call;
using releasebot::testing::fake_slack;
using releasebot::testing::temp_dir;

constexpr auto slack_deadline = 3s;  // Slack expects an ack within 3 s, or it redelivers

double ms(steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double seconds(steady::duration d) { return std::chrono::duration<double>(d).count(); }

struct options {
  std::string bot = RELEASEBOT_DEFAULT_BINARY;
  int soak_minutes = 0;
  std::string only;     // one scenario by name
  double scale = 1.0;   // --quick: a tenth of every count, for a smoke run
  bool verbose = false;
};

int scaled(const options& opts, int count) { return std::max(1, static_cast<int>(count * opts.scale)); }

void progress(const std::string& text) { std::cerr << "[bench] " << text << std::endl; }

// ---------------------------------------------------------------------------------------------
// One fake Slack, one fresh database, one bot.

// The generic pipeline source the webhook scenario posts to (Standard Webhooks, whsec_ secret).
constexpr const char* bench_hook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

class session {
public:
  // `http_port` 0: the HTTP server on any port; else there, with a pipeline source at /hooks/ci.
  session(const options& opts, const std::string& name, unsigned short http_port = 0) : name_{name} {
    std::ofstream{config()} << "[bot]\npolicy = \"" << RELEASEBOT_SOURCE_DIR << "/deploy/policy.toml\"\n"
                            << "[access]\nadmins = [\"UALICE\"]\n"
                            << "[slack]\nrelease_channel = \"CREL\"\n"
                            << "[http]\nlisten = \"127.0.0.1:" << http_port << "\"\n"
                            << (http_port == 0 ? ""
                                               : "[webhooks.ci]\nsecret_env = \"RELEASEBOT_BENCH_HOOK_SECRET\"\n"
                                                 "name = \"CI\"\n");
    ::setenv("RELEASEBOT_BENCH_HOOK_SECRET", bench_hook_secret, 1);
    ::setenv("SLACK_APP_TOKEN", slack.app_token().c_str(), 1);
    ::setenv("SLACK_BOT_TOKEN", slack.bot_token().c_str(), 1);
    ::setenv("SLACK_API_URL", slack.api_url().c_str(), 1);
    ::setenv("SSL_CERT_FILE", slack.ca_file().c_str(), 1);
    start(opts);
    startup_ms = last_startup_ms;
    std::this_thread::sleep_for(1s);  // settled and idle
    idle = bot_->memory();
  }

  // Stops the bot (SIGTERM) and starts it again on the same database; returns spawn → first ack.
  double restart(const options& opts) {
    if (bot_->stop(5s) != 0) fail("the bot did not stop cleanly");
    start(opts);
    return last_startup_ms;
  }

  ~session() {
    if (bot_) bot_->stop(5s);
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  std::string db() const { return dir_.file("bot.db"); }
  std::string config() const { return dir_.file("releasebot.toml"); }
  std::string log() const { return dir_.file("bot.log"); }
  bot_process& bot() { return *bot_; }

  [[noreturn]] void fail(const std::string& problem) {
    std::ifstream in{log()};
    std::stringstream said;
    said << in.rdbuf();
    throw std::runtime_error{name_ + ": " + problem + "; the bot said:\n" + said.str()};
  }

  // A slash command and the text of its ack.
  std::string slash(const std::string& user, const std::string& text) {
    const auto id = slack.send_slash_command(user, "CREL", text);
    const auto ack = slack.wait_for_ack(id, 10s);
    if (!ack) fail("no ack for '" + text + "'");
    return ack->contains("payload") ? (*ack)["payload"].value("text", std::string{}) : std::string{};
  }

  fake_slack slack;
  double startup_ms = 0;
  double hello_ms = 0;
  double auth_test_ms = 0;
  memory_use idle;

private:
  // Spawns the bot and measures spawn → first ack (a `list`, the cheapest command).
  void start(const options& opts) {
    const int before = slack.connections();
    const auto auth_calls = slack.calls("auth.test").size();
    bot_ = std::make_unique<bot_process>(
        std::vector<std::string>{opts.bot, "run", "--db", db(), "--config", config(), "--log-level", "warn"},
        log());
    if (!slack.wait_for_connections(before + 1, 20s)) fail("no Socket Mode connection within 20 s");
    hello_ms = ms(steady::now() - bot_->spawned_at());  // approximate: when the wait returned
    // Its first Web API call comes once configuration, policy and database are ready.
    if (const auto calls = slack.calls("auth.test"); calls.size() > auth_calls) {
      auth_test_ms = ms(calls[auth_calls].at - bot_->spawned_at());
    }
    const auto id = slack.send_slash_command("UALICE", "CREL", "list");
    if (!slack.wait_for_ack(id, 10s)) fail("the first command was not acked within 10 s");
    last_startup_ms = ms(*slack.ack_time(id) - bot_->spawned_at());
    if (opts.verbose) progress(name_ + ": bot pid " + std::to_string(bot_->pid()));
  }

  std::string name_;
  temp_dir dir_;
  std::unique_ptr<bot_process> bot_;
  double last_startup_ms = 0;
};

// ---------------------------------------------------------------------------------------------
// Sending patterns and what the fake saw.

struct ack_outcome {
  std::vector<double> latency_ms;  // fake: envelope handed to the connection → ack received
  int unacked = 0;
  int late = 0;  // acked more than 3 s after it was sent
};

ack_outcome collect_acks(fake_slack& slack, const std::vector<std::string>& ids, steady::duration patience) {
  ack_outcome out;
  const auto deadline = steady::now() + patience;
  for (const auto& id : ids) {
    const auto left = std::max(steady::duration::zero(), deadline - steady::now());
    if (!slack.wait_for_ack(id, std::chrono::duration_cast<std::chrono::milliseconds>(left))) {
      ++out.unacked;
      continue;
    }
    const auto sent = slack.sent_time(id);
    const auto acked = slack.ack_time(id);
    if (!sent || !acked) {
      ++out.unacked;
      continue;
    }
    const double latency = ms(*acked - *sent);
    out.latency_ms.push_back(latency);
    if (latency > ms(slack_deadline)) ++out.late;
  }
  return out;
}

// Sends `count` commands at a steady `rate` per second (bounded by `limit`); returns the ids and
// the rate achieved.
std::vector<std::string> paced(int count, double rate, steady::duration limit, double& achieved,
                               const std::function<std::string(int)>& send_one) {
  std::vector<std::string> ids;
  const auto period = std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(1.0 / rate));
  const auto start = steady::now();
  for (int i = 0; i < count && steady::now() - start < limit; ++i) {
    std::this_thread::sleep_until(start + period * i);
    ids.push_back(send_one(i));
  }
  const auto took = steady::now() - start;
  achieved = ids.size() > 1 ? static_cast<double>(ids.size() - 1) / seconds(took) : 0;
  return ids;
}

// Keeps `window` commands outstanding until `count` were sent or `limit` passed.
struct window_outcome {
  int sent = 0;
  int acked = 0;
  double seconds = 0;
  std::vector<std::string> ids;
};

window_outcome windowed(fake_slack& slack, int window, int count, steady::duration limit,
                        const std::function<std::string(int)>& send_one) {
  window_outcome out;
  std::deque<std::string> outstanding;
  const auto start = steady::now();
  for (;;) {
    const bool more = out.sent < count && steady::now() - start < limit;
    if (more && static_cast<int>(outstanding.size()) < window) {
      outstanding.push_back(send_one(out.sent++));
      out.ids.push_back(outstanding.back());
      continue;
    }
    if (outstanding.empty()) break;
    if (!slack.wait_for_ack(outstanding.front(), 10s)) break;  // stuck: report what was done
    outstanding.pop_front();
    ++out.acked;
  }
  out.seconds = seconds(steady::now() - start);
  return out;
}

// Sends slash commands at a steady rate from its own thread, as Slack would deliver them, and
// can redeliver those not acked (same envelope_id, retry_attempt + 1).
class command_stream {
public:
  struct record {
    std::string id;
    std::string text;
    steady::time_point first{};
    int attempt = 0;
  };

  command_stream(fake_slack& slack, double rate, steady::duration length, std::function<std::string(int)> text_of)
      : slack_{slack}, rate_{rate}, length_{length}, text_of_{std::move(text_of)} {
    thread_ = std::thread{[this] { run(); }};
  }
  ~command_stream() { join(); }
  command_stream(const command_stream&) = delete;
  command_stream& operator=(const command_stream&) = delete;

  // Sends `count` more at once from the calling thread, so that some are in flight right now.
  void burst(int count) {
    for (int i = 0; i < count; ++i) send_one();
  }

  // Redelivers (on the stream's thread) every envelope first sent before `before` and not acked.
  void redeliver(steady::time_point before) {
    std::lock_guard lock{mutex_};
    redeliver_before_ = before;
  }

  void join() {
    if (thread_.joinable()) thread_.join();
    redeliver_pending();
  }

  const std::vector<record>& records() const { return records_; }  // after join()
  int redelivered() const { return redelivered_; }

private:
  void send_one() {
    record entry;
    entry.text = text_of_(next_.fetch_add(1));
    entry.first = steady::now();
    entry.id = slack_.send_slash_command("UALICE", "CREL", entry.text);
    std::lock_guard lock{mutex_};
    records_.push_back(std::move(entry));
  }

  void run() {
    const auto period = std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(1.0 / rate_));
    const auto start = steady::now();
    for (int i = 0; steady::now() - start < length_ && i < 1'000'000; ++i) {
      std::this_thread::sleep_until(start + period * i);
      redeliver_pending();
      send_one();
    }
  }

  void redeliver_pending() {
    std::lock_guard lock{mutex_};
    const auto before = std::exchange(redeliver_before_, std::nullopt);
    if (!before) return;
    for (auto& entry : records_) {
      if (entry.first >= *before || slack_.ack_count(entry.id) > 0) continue;
      ++entry.attempt;
      ++redelivered_;
      slack_.send_slash_command("UALICE", "CREL", entry.text, entry.attempt, entry.id);
    }
  }

  fake_slack& slack_;
  double rate_;
  steady::duration length_;
  std::function<std::string(int)> text_of_;
  std::atomic<int> next_{0};
  std::mutex mutex_;
  std::vector<record> records_;
  std::optional<steady::time_point> redeliver_before_;
  int redelivered_ = 0;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// The figures.

struct results {
  json out = json::object();
  std::vector<double> startups_ms;
  std::vector<double> hellos_ms;
  std::vector<double> auth_tests_ms;
  std::vector<long> idle_rss_kb;
  std::vector<long> idle_anon_kb;
  std::vector<long> idle_file_kb;
  long peak_hwm_kb = 0;
  std::string peak_where;

  void note_session(const std::string& name, session& s) {
    startups_ms.push_back(s.startup_ms);
    hellos_ms.push_back(s.hello_ms);
    auth_tests_ms.push_back(s.auth_test_ms);
    idle_rss_kb.push_back(s.idle.rss_kb);
    idle_anon_kb.push_back(s.idle.anon_kb);
    idle_file_kb.push_back(s.idle.file_kb);
    const auto now = s.bot().memory();
    if (now.hwm_kb > peak_hwm_kb) {
      peak_hwm_kb = now.hwm_kb;
      peak_where = name;
    }
    out["scenarios"][name]["startup_ms"] = round3(s.startup_ms);
    out["scenarios"][name]["idle_rss_kb"] = s.idle.rss_kb;
    out["scenarios"][name]["peak_hwm_kb"] = now.hwm_kb;
  }
};

json latency_json(const ack_outcome& acks) {
  auto j = to_json(summarize(acks.latency_ms));
  j["unacked"] = acks.unacked;
  j["acked_after_3s"] = acks.late;
  return j;
}

// One measured phase of commands: their ack latencies under ack_latency.<name> (returned for the
// scenario's own fields) and the bot's CPU per 1,000 of them under cpu_seconds_per_1000.<kind>.
json& record_phase(results& r, session& s, const std::string& name, const std::string& kind,
                   const std::vector<std::string>& ids, double bot_cpu_before, steady::duration patience) {
  const auto acks = collect_acks(s.slack, ids, patience);
  const double cpu = s.bot().cpu_seconds() - bot_cpu_before;
  auto& j = r.out["ack_latency"][name];
  j = latency_json(acks);
  j["sent"] = ids.size();
  r.out["cpu_seconds_per_1000"][kind] = round3(cpu * 1000.0 / static_cast<double>(ids.size()));
  return j;
}

// A sustained run with a window of outstanding envelopes: acks per second, the bot's share of a
// core, and the latency of every ack.
json sustained_json(session& s, const window_outcome& run, double bot_cpu_before) {
  const double cpu = s.bot().cpu_seconds() - bot_cpu_before;
  const auto acks = collect_acks(s.slack, run.ids, 10s);
  json j;
  j["acks_per_s"] = round3(run.acked / run.seconds);
  j["acked"] = run.acked;
  j["seconds"] = round3(run.seconds);
  j["bot_cpu_share"] = round3(cpu / run.seconds);  // 1.0 = one core busy all along
  j["latency"] = latency_json(acks);
  return j;
}

// Start-up on a fresh database (every session measures that) and restarts on an existing one.
void scenario_startup(const options& opts, results& r) {
  progress("start-up: restarts on an existing database");
  session s{opts, "startup"};
  if (s.slash("UALICE", "open 1.0.0 minor Bench").find("Opened") == std::string::npos) s.fail("open refused");
  std::vector<double> restarts;
  std::vector<double> auth_tests;
  std::vector<double> hellos;
  for (int i = 0; i < 5; ++i) {
    restarts.push_back(s.restart(opts));
    auth_tests.push_back(s.auth_test_ms);
    hellos.push_back(s.hello_ms);
  }
  const auto restart = summarize(restarts);
  r.out["startup_restart_ms"] = {{"median", round3(restart.p50)},
                                 {"max", round3(restart.max)},
                                 {"samples", restart.count},
                                 {"spawn_to_auth_test_median", round3(summarize(auth_tests).p50)},
                                 {"spawn_to_hello_median", round3(summarize(hellos).p50)}};
  r.note_session("startup", s);
}

void scenario_status(const options& opts, results& r) {
  progress("status at 200/s");
  session s{opts, "status_paced"};
  if (s.slash("UALICE", "open 1.0.0 minor Bench").find("Opened") == std::string::npos) s.fail("open refused");
  const int count = scaled(opts, 2000);
  const double cpu0 = s.bot().cpu_seconds();
  double rate = 0;
  const auto ids = paced(count, 200, 60s, rate, [&](int) { return s.slack.send_slash_command("UALICE", "CREL", "status 1.0.0"); });
  auto& j = record_phase(r, s, "status_paced", "status", ids, cpu0, 30s);
  j["rate_per_s"] = round3(rate);
  r.note_session("status_paced", s);
}

void scenario_burst(const options& opts, results& r) {
  progress("1,000 open at once");
  session s{opts, "open_burst"};
  const int count = scaled(opts, 1000);
  const double cpu0 = s.bot().cpu_seconds();
  std::vector<std::string> ids;
  const auto start = steady::now();
  for (int i = 0; i < count; ++i) {
    ids.push_back(s.slack.send_slash_command("UALICE", "CREL", "open 2." + std::to_string(i) + ".0 minor Burst"));
  }
  const double send_ms = ms(steady::now() - start);
  auto& j = record_phase(r, s, "open_burst", "open", ids, cpu0, 120s);
  j["sending_took_ms"] = round3(send_ms);
  j["releases_in_db"] = releasebot::testing::count(s.db(), "SELECT count(*) FROM releases");
  r.note_session("open_burst", s);
}

void scenario_clicks(const options& opts, results& r) {
  progress("500 sign-off clicks at 200/s (setting up releases and requests first)");
  session s{opts, "clicks_paced"};
  // Five people, one sign-off role each; every release asks each of them once, so that every
  // click decides a pending request (a click on an already decided role is refused instead).
  const std::vector<std::pair<std::string, std::string>> people{
      {"UPM", "product-manager"}, {"UQA", "qa"}, {"UDL", "dev-lead"}, {"UBO", "business-owner"}, {"UCL", "client"}};
  for (const auto& [user, role] : people) {
    if (s.slash("UALICE", "role <@" + user + "> add " + role).find("Granted") == std::string::npos) s.fail("grant refused");
  }
  const int clicks = scaled(opts, 500);
  const int releases = (clicks + static_cast<int>(people.size()) - 1) / static_cast<int>(people.size());
  std::vector<std::string> setup;
  for (int i = 0; i < releases; ++i) setup.push_back("open 10." + std::to_string(i) + ".0 major Clicks");
  for (int i = 0; i < releases; ++i) {
    for (const auto& [user, role] : people) {
      setup.push_back("signoff 10." + std::to_string(i) + ".0 " + role + " <@" + user + ">");
    }
  }
  const auto prepared = windowed(s.slack, 64, static_cast<int>(setup.size()), 300s, [&](int i) {
    return s.slack.send_slash_command("UALICE", "CREL", setup[static_cast<std::size_t>(i)]);
  });
  if (prepared.acked != static_cast<int>(setup.size())) s.fail("the click set-up was not acked in time");
  std::vector<std::pair<std::string, std::string>> requests;  // request id, assignee
  for (const auto& row : releasebot::testing::column_of(s.db(), "SELECT id || ' ' || assignee FROM signoff_requests ORDER BY id")) {
    requests.emplace_back(row.substr(0, row.find(' ')), row.substr(row.find(' ') + 1));
  }
  if (static_cast<int>(requests.size()) < clicks) s.fail("fewer sign-off requests than clicks");
  requests.resize(static_cast<std::size_t>(clicks));

  const double cpu0 = s.bot().cpu_seconds();
  double rate = 0;
  const auto ids = paced(clicks, 200, 60s, rate, [&](int i) {
    const auto& [id, assignee] = requests[static_cast<std::size_t>(i)];
    return s.slack.send_button_click(assignee, "signoff_approve", id, "D" + assignee, "1700000000.000100");
  });
  auto& j = record_phase(r, s, "clicks_paced", "click", ids, cpu0, 30s);
  j["rate_per_s"] = round3(rate);
  j["set_up_commands"] = setup.size() + people.size();
  j["decisions_in_db"] = releasebot::testing::count(s.db(), "SELECT count(*) FROM signoff_decisions");
  r.note_session("clicks_paced", s);
}

void scenario_announce(const options& opts, results& r) {
  progress("slash open → announcement");
  session s{opts, "announcement"};
  // The release channel takes about one message a second (the bot's pacing, after Slack's
  // guidance), so the samples are 1.1 s apart: this measures the bot, not the pacing.
  const int count = std::min(10, scaled(opts, 10));
  std::vector<double> latency;
  int missing = 0;
  for (int i = 0; i < count; ++i) {
    const auto started = steady::now();
    const std::string version = "3." + std::to_string(i) + ".0";
    const auto id = s.slack.send_slash_command("UALICE", "CREL", "open " + version + " minor Announce");
    const auto call = s.slack.wait_for_call(
        "chat.postMessage",
        [&](const api_call& c) { return c.body.value("text", std::string{}).find("Release " + version) != std::string::npos; },
        10s);
    const auto sent = s.slack.sent_time(id);
    if (!call || !sent) {
      ++missing;
    } else {
      latency.push_back(ms(call->at - *sent));
    }
    std::this_thread::sleep_until(started + 1100ms);
  }
  auto j = to_json(summarize(latency));
  j["not_posted"] = missing;
  r.out["announcement_latency"] = j;
  r.note_session("announcement", s);
}

// Pipelines posting signed deployment steps to /hooks/ci: acks per second from 4 concurrent
// senders (each request on its own connection, as CI scripts send them), and receipt → the
// progress message's edit reaching Slack, paced past the channel's one message a second.
void scenario_webhooks(const options& opts, results& r) {
  progress("webhooks: signed pipeline steps");
  const auto port = releasebot::testing::free_port();
  session s{opts, "webhooks", port};
  s.slash("UALICE", "open 9.0.0 hotfix Bench pipeline");
  s.slash("UALICE", "advance 9.0.0 force bench");
  const auto key = *releasebot::integrations::webhooks::secret_key(bench_hook_secret);
  std::atomic<int> next_id{0};
  const auto post = [&](const std::string& event, const std::string& text) {
    json body{{"release", "9.0.0"}, {"environment", "alpha"}, {"event", event}};
    if (!text.empty()) body["text"] = text;
    const auto payload = body.dump();
    const auto id = "bench_" + std::to_string(next_id++);
    const auto timestamp = std::to_string(
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()).time_since_epoch().count());
    return releasebot::testing::http_request(
        port, "POST", "/hooks/ci",
        {{"Content-Type", "application/json"},
         {"webhook-id", id},
         {"webhook-timestamp", timestamp},
         {"webhook-signature", releasebot::integrations::webhooks::sign(key, id, timestamp, payload)}},
        payload);
  };
  if (post("started", {}).status != 200) s.fail("the pipeline's start was refused");

  const int per_sender = scaled(opts, 500);
  constexpr int senders = 4;
  std::vector<std::vector<double>> latencies(senders);
  std::atomic<int> refused{0};
  const double cpu_before = s.bot().cpu_seconds();
  const auto start = steady::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < senders; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_sender; ++i) {
        const auto sent = steady::now();
        const auto reply = post("step", "step " + std::to_string(t) + "-" + std::to_string(i));
        latencies[t].push_back(ms(steady::now() - sent));
        if (reply.status != 200) ++refused;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double took = seconds(steady::now() - start);
  const double cpu = s.bot().cpu_seconds() - cpu_before;
  std::vector<double> all;
  for (const auto& some : latencies) all.insert(all.end(), some.begin(), some.end());
  auto acks = to_json(summarize(all));
  acks["events_per_s"] = round3(static_cast<double>(all.size()) / took);
  acks["refused"] = refused.load();
  acks["cpu_ms_per_event"] = round3(cpu * 1000.0 / static_cast<double>(all.size()));
  r.out["webhooks"]["acks"] = acks;

  // Receipt → the edit of the deployment's progress message (or its first post) at Slack.
  std::this_thread::sleep_for(3s);  // the burst's edits settle (coalesced into few)
  const auto edits_after_burst = s.slack.calls("chat.update").size();
  std::vector<double> shown;
  int missing = 0;
  const int samples = std::min(10, scaled(opts, 10));
  for (int i = 0; i < samples; ++i) {
    const auto started = steady::now();
    const auto marker = "paced step " + std::to_string(i);
    if (post("step", marker).status != 200) s.fail("a paced step was refused");
    const auto call = s.slack.wait_for_call(
        "chat.update", [&](const api_call& c) { return c.body.dump().find(marker) != std::string::npos; }, 10s);
    if (!call) {
      ++missing;
    } else {
      shown.push_back(ms(call->at - started));
    }
    std::this_thread::sleep_until(started + 1100ms);
  }
  auto seen = to_json(summarize(shown));
  seen["not_shown"] = missing;
  seen["edits_for_the_burst"] = static_cast<long>(edits_after_burst);
  seen["steps_in_the_burst"] = senders * per_sender;
  r.out["webhooks"]["receipt_to_thread"] = seen;
  r.note_session("webhooks", s);
}

void scenario_sustained(const options& opts, results& r) {
  progress("sustained, 64 outstanding");
  session s{opts, "sustained"};
  if (s.slash("UALICE", "open 1.0.0 minor Bench").find("Opened") == std::string::npos) s.fail("open refused");
  windowed(s.slack, 64, scaled(opts, 2000), 30s,
           [&](int) { return s.slack.send_slash_command("UALICE", "CREL", "status 1.0.0"); });  // warm-up
  {
    const double cpu0 = s.bot().cpu_seconds();
    const double own0 = releasebot::bench::cpu_seconds_of("self");
    const auto run = windowed(s.slack, 64, 2'000'000, opts.scale < 1 ? 1s : 5s,
                              [&](int) { return s.slack.send_slash_command("UALICE", "CREL", "status 1.0.0"); });
    const double own = releasebot::bench::cpu_seconds_of("self") - own0;
    auto& j = r.out["sustained"]["status"];
    j = sustained_json(s, run, cpu0);
    j["load_generator_cpu_share"] = round3(own / run.seconds);  // this process: fake Slack + sender
  }
  {
    const double cpu0 = s.bot().cpu_seconds();
    const auto run = windowed(s.slack, 64, 200'000, opts.scale < 1 ? 1s : 3s, [&](int i) {
      return s.slack.send_slash_command("UALICE", "CREL", "open 4." + std::to_string(i) + ".0 minor Sustained");
    });
    r.out["sustained"]["open"] = sustained_json(s, run, cpu0);
  }
  r.note_session("sustained", s);
}

// A refresh_requested or a TCP reset while commands stream in at 200/s, just after a burst of 20.
void scenario_switch(const options& opts, results& r, bool reset) {
  const std::string name = reset ? "tcp_reset" : "refresh";
  progress(reset ? "TCP reset with commands in flight" : "refresh_requested with commands in flight");
  session s{opts, name};
  if (s.slash("UALICE", "open 1.0.0 minor Bench").find("Opened") == std::string::npos) s.fail("open refused");
  command_stream stream{s.slack, 200, 4s, [](int i) {
                          return i % 2 == 0 ? std::string{"status 1.0.0"}
                                            : "open 5." + std::to_string(i) + ".0 minor Switch";
                        }};
  std::this_thread::sleep_for(1500ms);
  const int before = s.slack.connections();
  stream.burst(20);  // commands in flight when the connection goes
  const auto cut = steady::now();
  if (reset) {
    s.slack.reset_connection();
  } else {
    s.slack.send_disconnect("refresh_requested");
  }
  const bool switched = s.slack.wait_for_connections(before + 1, 10s);
  const auto hello = steady::now();
  // Slack delivers again what the reset swallowed; a refresh loses nothing, so nothing is resent.
  if (reset && switched) stream.redeliver(hello);
  stream.join();

  int lost = 0;
  int late = 0;
  int in_flight = 0;
  std::vector<double> latency;
  const auto deadline = steady::now() + 10s;
  for (const auto& entry : stream.records()) {
    const auto left = std::max(steady::duration::zero(), deadline - steady::now());
    const bool acked = s.slack.wait_for_ack(entry.id, std::chrono::duration_cast<std::chrono::milliseconds>(left)).has_value();
    const auto at = s.slack.ack_time(entry.id);
    if (entry.first < cut && (!at || *at > cut)) ++in_flight;
    if (!acked || !at) {
      ++lost;
      continue;
    }
    const double took = ms(*at - entry.first);
    latency.push_back(took);
    if (took > ms(slack_deadline)) ++late;
  }
  auto& j = r.out[name];
  j["switch_ms"] = switched ? json(round3(ms(hello - cut))) : json(nullptr);
  j["sent"] = stream.records().size();
  j["in_flight_at_cut"] = in_flight;
  j["redelivered"] = stream.redelivered();
  j["lost"] = lost;
  j["acked_after_3s"] = late;
  j["latency_from_first_send"] = to_json(summarize(latency));
  r.note_session(name, s);
}

void scenario_rate_limited(const options& opts, results& r) {
  progress("chat.postMessage answering 429 Retry-After: 1 three times");
  session s{opts, "rate_limited"};
  s.slack.rate_limit("chat.postMessage", 3, 1);
  const int count = 5;
  const auto start = steady::now();
  for (int i = 0; i < count; ++i) {
    if (s.slash("UALICE", "open 6." + std::to_string(i) + ".0 minor Limited").find("Opened") == std::string::npos) {
      s.fail("open refused");
    }
  }
  // Every outbox row accepted once (by the outbox_id the bot puts in the message metadata).
  std::map<long, int> accepted;
  int refused = 0;
  const auto deadline = steady::now() + 60s;
  double all_posted_ms = -1;
  for (;;) {
    accepted.clear();
    refused = 0;
    for (const auto& call : s.slack.calls("chat.postMessage")) {
      if (call.status == 429) {
        ++refused;
        continue;
      }
      if (call.status != 200 || !call.response.value("ok", false)) continue;
      const auto& id = call.body["metadata"]["event_payload"]["outbox_id"];
      ++accepted[id.is_number() ? id.get<long>() : std::stol(id.get<std::string>())];
    }
    if (static_cast<int>(accepted.size()) >= count) {
      all_posted_ms = ms(steady::now() - start);
      break;
    }
    if (steady::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(1500ms);  // anything posted twice would show up now
  int twice = 0;
  accepted.clear();
  for (const auto& call : s.slack.calls("chat.postMessage")) {
    if (call.status != 200 || !call.response.value("ok", false)) continue;
    const auto& id = call.body["metadata"]["event_payload"]["outbox_id"];
    ++accepted[id.is_number() ? id.get<long>() : std::stol(id.get<std::string>())];
  }
  for (const auto& [id, times] : accepted) twice += times > 1 ? 1 : 0;
  auto& j = r.out["rate_limited"];
  j["announcements"] = count;
  j["posted"] = accepted.size();
  j["posted_twice"] = twice;
  j["answered_429"] = refused;
  j["all_posted_after_ms"] = all_posted_ms >= 0 ? json(round3(all_posted_ms)) : json(nullptr);
  j["outbox_unsent"] = releasebot::testing::count(s.db(), "SELECT count(*) FROM outbox WHERE sent_at IS NULL");
  r.note_session("rate_limited", s);
}

// What one durable commit costs on this disk: WAL with synchronous=FULL (the bot's setting)
// against NORMAL, 200 one-row transactions each.
void scenario_sqlite(const options&, results& r) {
  progress("SQLite commit cost on this disk");
  temp_dir dir;
  for (const std::string mode : {"FULL", "NORMAL"}) {
    const auto path = dir.file("commit-" + mode + ".db");
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db, ("PRAGMA journal_mode = WAL; PRAGMA synchronous = " + mode + "; CREATE TABLE t (x TEXT);").c_str(),
                 nullptr, nullptr, nullptr);
    const int count = 200;
    const auto start = steady::now();
    for (int i = 0; i < count; ++i) {
      sqlite3_exec(db, "BEGIN; INSERT INTO t VALUES ('a row of about the size of an audit entry'); COMMIT;", nullptr,
                   nullptr, nullptr);
    }
    r.out["sqlite_commit_ms"][mode == "FULL" ? "wal_full" : "wal_normal"] = round3(ms(steady::now() - start) / count);
    sqlite3_close(db);
  }
}

// ---------------------------------------------------------------------------------------------
// Soak: mixed traffic at 50 commands/s with a refresh_requested every minute and three 429s every
// 45 s; RSS sampled every 10 s. Stops after `minutes`.

int soak(const options& opts) {
  const auto length = std::chrono::minutes{opts.soak_minutes};
  progress("soak for " + std::to_string(opts.soak_minutes) + " min");
  session s{opts, "soak"};
  for (int k = 0; k < 10; ++k) s.slash("UALICE", "open 7." + std::to_string(k) + ".0 minor Soak");
  s.slash("UALICE", "role <@UQA> add qa");

  const auto command_of = [](long i) -> std::pair<std::string, std::string> {
    const std::string version = "7." + std::to_string(i % 10) + ".0";
    switch (i % 20) {
      case 5: return {"UALICE", "list"};
      case 9: return {"UALICE", "help status"};
      case 10: return {"UALICE", "scope " + version + " add SOAK-" + std::to_string(i)};
      case 13: return {"UALICE", "roles"};
      case 15:
        switch ((i / 20) % 4) {
          case 0: return {"UALICE", "signoff " + version + " qa <@UQA>"};
          case 1: return {"UQA", "approve " + version + " as qa soak"};
          case 2: return {"UALICE", "check " + version + " scope-defined " + ((i / 80) % 2 == 0 ? "done" : "open")};
          default: return {"UALICE", "incident " + version + " sev3 soak blip " + std::to_string(i)};
        }
      default: return {"UALICE", "status " + version};
    }
  };

  struct pending {
    std::string id;
    steady::time_point sent;
  };
  std::deque<pending> waiting;
  std::vector<double> window_latency;
  long sent = 0, acked = 0, lost = 0, late = 0;
  int refreshes = 0, limits = 0;
  const auto start = steady::now();
  const double cpu0 = s.bot().cpu_seconds();
  auto next_sample = start + 10s;
  auto next_refresh = start + 30s;
  auto next_limit = start + 20s;
  const auto period = 20ms;  // 50 commands/s
  json curve = json::array();
  std::cout << "soak: t_s rss_kb hwm_kb cpu_s sent acked lost late_3s p99_ms outbox_unsent\n" << std::flush;
  const auto sample = [&](double t) {
    const auto mem = s.bot().memory();
    const auto stats = summarize(window_latency);
    window_latency.clear();
    const long unsent = releasebot::testing::count(s.db(), "SELECT count(*) FROM outbox WHERE sent_at IS NULL");
    const double cpu = s.bot().cpu_seconds() - cpu0;
    curve.push_back({{"t_s", round3(t)}, {"rss_kb", mem.rss_kb}, {"hwm_kb", mem.hwm_kb}, {"cpu_s", round3(cpu)},
                     {"sent", sent}, {"acked", acked}, {"lost", lost}, {"late", late}, {"p99_ms", round3(stats.p99)},
                     {"outbox_unsent", unsent}});
    std::cout << "soak: " << std::fixed << std::setprecision(0) << t << ' ' << mem.rss_kb << ' ' << mem.hwm_kb << ' '
              << std::setprecision(2) << cpu << ' ' << sent << ' ' << acked << ' ' << lost << ' ' << late << ' '
              << std::setprecision(3) << stats.p99 << ' ' << unsent << '\n'
              << std::flush;
  };
  sample(0);
  for (long i = 0; steady::now() - start < length; ++i) {
    std::this_thread::sleep_until(start + period * i);
    const auto now = steady::now();
    if (now >= next_refresh) {
      s.slack.send_disconnect("refresh_requested");
      ++refreshes;
      next_refresh += 60s;
    }
    if (now >= next_limit) {
      s.slack.rate_limit("chat.postMessage", 3, 1);
      ++limits;
      next_limit += 45s;
    }
    const auto [user, text] = command_of(i);
    waiting.push_back({s.slack.send_slash_command(user, "CREL", text), steady::now()});
    ++sent;
    while (!waiting.empty()) {
      const auto& front = waiting.front();
      if (const auto at = s.slack.ack_time(front.id)) {
        const auto sent_at = s.slack.sent_time(front.id).value_or(front.sent);
        window_latency.push_back(ms(*at - sent_at));
        if (*at - front.sent > slack_deadline) ++late;
        ++acked;
      } else if (steady::now() - front.sent > 5s) {
        ++lost;
      } else {
        break;
      }
      s.slack.forget_envelope(front.id);  // a long soak must not grow the fake's records
      waiting.pop_front();
    }
    if (steady::now() >= next_sample) {
      sample(seconds(steady::now() - start));
      next_sample += 10s;
    }
  }
  for (const auto& entry : waiting) {
    if (s.slack.wait_for_ack(entry.id, 5s)) {
      ++acked;
    } else {
      ++lost;
    }
  }
  sample(seconds(steady::now() - start));
  json out{{"soak_minutes", opts.soak_minutes}, {"commands_per_s", 50}, {"refreshes", refreshes},
           {"rate_limit_bursts", limits}, {"sent", sent}, {"acked", acked}, {"lost", lost},
           {"acked_after_3s", late}, {"curve", curve}};
  out["load_generator_rss_kb"] = releasebot::bench::memory_of("self").rss_kb;  // it keeps every ack
  std::cout << out.dump(2) << '\n';
  return lost == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// The readable table.

std::string fmt(double value, int precision = 2) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(precision) << value;
  return text.str();
}

std::string get(const json& j, const std::vector<std::string>& path, int precision = 2) {
  const json* at = &j;
  for (const auto& key : path) {
    if (!at->is_object() || !at->contains(key)) return "—";
    at = &(*at)[key];
  }
  if (at->is_number_integer()) return std::to_string(at->get<long>());
  if (at->is_number()) return fmt(at->get<double>(), precision);
  if (at->is_null()) return "—";
  return at->dump();
}

void print_table(const json& j) {
  struct row {
    std::string what, target, measured;
  };
  const auto lat = [&](const std::string& name) {
    return get(j, {"ack_latency", name, "p50_ms"}, 3) + " / " + get(j, {"ack_latency", name, "p90_ms"}, 3) + " / " +
           get(j, {"ack_latency", name, "p99_ms"}, 3) + " / " + get(j, {"ack_latency", name, "max_ms"}, 3) + " ms";
  };
  const std::vector<row> rows{
      {"start-up, spawn → first ack, new database (median / max)", "≤ 30 ms",
       get(j, {"startup_ms", "median"}) + " / " + get(j, {"startup_ms", "max"}) + " ms"},
      {"start-up, restart on an existing database (median / max)", "≤ 30 ms",
       get(j, {"startup_restart_ms", "median"}) + " / " + get(j, {"startup_restart_ms", "max"}) + " ms"},
      {"ack p50/p90/p99/max: 2,000 status at 200/s", "p99 ≤ 1 ms", lat("status_paced")},
      {"ack p50/p90/p99/max: 1,000 open at once", "p99 ≤ 50 ms", lat("open_burst")},
      {"  open burst acked after 3 s", "0", get(j, {"ack_latency", "open_burst", "acked_after_3s"})},
      {"ack p50/p90/p99/max: 500 clicks at 200/s", "p99 ≤ 2 ms", lat("clicks_paced")},
      {"slash open → chat.postMessage (p50 / max)", "—",
       get(j, {"announcement_latency", "p50_ms"}, 3) + " / " + get(j, {"announcement_latency", "max_ms"}, 3) + " ms"},
      {"sustained acks/s, 64 outstanding: status", "≥ 30,000", get(j, {"sustained", "status", "acks_per_s"}, 0)},
      {"sustained acks/s, 64 outstanding: open", "—", get(j, {"sustained", "open", "acks_per_s"}, 0)},
      {"idle RSS (median) / peak RSS (VmHWM, max)", "≤ 10 MB / ≤ 30 MB",
       fmt(j.at("memory").at("idle_rss_kb_median").get<double>() / 1024.0, 1) + " / " +
           fmt(j.at("memory").at("peak_hwm_kb").get<double>() / 1024.0, 1) + " MB"},
      {"CPU s per 1,000: status / open / click", "—",
       get(j, {"cpu_seconds_per_1000", "status"}, 3) + " / " + get(j, {"cpu_seconds_per_1000", "open"}, 3) + " / " +
           get(j, {"cpu_seconds_per_1000", "click"}, 3)},
      {"refresh_requested: switch / lost / after 3 s", "≤ 100 ms / 0 / 0",
       get(j, {"refresh", "switch_ms"}) + " ms / " + get(j, {"refresh", "lost"}) + " / " +
           get(j, {"refresh", "acked_after_3s"})},
      {"TCP reset: new hello / lost / after 3 s", "≤ 1 s / 0 / —",
       get(j, {"tcp_reset", "switch_ms"}) + " ms / " + get(j, {"tcp_reset", "lost"}) + " / " +
           get(j, {"tcp_reset", "acked_after_3s"})},
      {"429 ×3: announcements posted / posted twice", "all / 0",
       get(j, {"rate_limited", "posted"}) + " of " + get(j, {"rate_limited", "announcements"}) + " / " +
           get(j, {"rate_limited", "posted_twice"}) + " (all out after " +
           get(j, {"rate_limited", "all_posted_after_ms"}, 0) + " ms)"},
      {"webhook steps/s, 4 senders (ack p50 / p99)", "—",
       get(j, {"webhooks", "acks", "events_per_s"}, 0) + " (" + get(j, {"webhooks", "acks", "p50_ms"}, 3) + " / " +
           get(j, {"webhooks", "acks", "p99_ms"}, 3) + " ms)"},
      {"webhook step → thread edit at Slack (p50 / p99)", "—",
       get(j, {"webhooks", "receipt_to_thread", "p50_ms"}, 3) + " / " +
           get(j, {"webhooks", "receipt_to_thread", "p99_ms"}, 3) + " ms"},
      {"SQLite commit, WAL: synchronous=FULL / NORMAL", "—",
       get(j, {"sqlite_commit_ms", "wal_full"}, 3) + " / " + get(j, {"sqlite_commit_ms", "wal_normal"}, 3) + " ms"},
  };
  std::size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.what.size());
  std::cout << "\n" << std::left << std::setw(static_cast<int>(width) + 2) << "figure" << std::setw(22) << "target"
            << "measured\n";
  for (const auto& r : rows) {
    // setw counts bytes; the arrows and dashes are multi-byte, so pad by hand.
    const auto pad = [](const std::string& text, std::size_t to) {
      std::size_t shown = 0;
      for (const unsigned char c : text) shown += (c & 0xC0U) != 0x80U ? 1 : 0;
      return text + std::string(to > shown ? to - shown : 1, ' ');
    };
    std::cout << pad(r.what, width + 2) << pad(r.target, 22) << r.measured << '\n';
  }
}

int usage(int code) {
  (code == 0 ? std::cout : std::cerr)
      << "usage: releasebot_bench [--bot PATH] [--only SCENARIO] [--quick] [--verbose] [--soak MINUTES]\n"
         "  --bot PATH      the releasebot binary (default: this build tree's bot/releasebot)\n"
         "  --only NAME     one of: sqlite, startup, status, burst, clicks, announce, sustained, refresh, reset, ratelimit,\n"
         "                  webhooks\n"
         "  --quick         a tenth of every count: a smoke run, not a measurement\n"
         "  --soak MINUTES  instead: mixed traffic at 50 commands/s for MINUTES (1..120), RSS every 10 s\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) std::exit(usage(2));
      return argv[++i];
    };
    if (arg == "--bot") {
      opts.bot = value();
    } else if (arg == "--only") {
      opts.only = value();
    } else if (arg == "--quick") {
      opts.scale = 0.1;
    } else if (arg == "--verbose") {
      opts.verbose = true;
    } else if (arg == "--soak") {
      opts.soak_minutes = std::atoi(value().c_str());
      if (opts.soak_minutes < 1 || opts.soak_minutes > 120) return usage(2);
    } else if (arg == "--help" || arg == "-h") {
      return usage(0);
    } else {
      return usage(2);
    }
  }
  if (::access(opts.bot.c_str(), X_OK) != 0) {
    std::cerr << "releasebot_bench: no releasebot at " << opts.bot << " — build it or pass --bot PATH\n";
    return 2;
  }

  try {
    if (opts.soak_minutes > 0) return soak(opts);

    results r;
    double load[3] = {0, 0, 0};
    ::getloadavg(load, 3);
    utsname host{};
    ::uname(&host);
    r.out["environment"] = {{"bot", opts.bot},
                            {"build_type", RELEASEBOT_BUILD_TYPE},
                            {"cpus_online", ::sysconf(_SC_NPROCESSORS_ONLN)},
                            {"load_average_at_start", {round3(load[0]), round3(load[1]), round3(load[2])}},
                            {"kernel", std::string{host.release}},
                            {"temp_dir", std::filesystem::temp_directory_path().string()},
                            {"scale", opts.scale}};
    const std::vector<std::pair<std::string, std::function<void()>>> scenarios{
        {"sqlite", [&] { scenario_sqlite(opts, r); }},
        {"startup", [&] { scenario_startup(opts, r); }},
        {"status", [&] { scenario_status(opts, r); }},
        {"burst", [&] { scenario_burst(opts, r); }},
        {"clicks", [&] { scenario_clicks(opts, r); }},
        {"announce", [&] { scenario_announce(opts, r); }},
        {"sustained", [&] { scenario_sustained(opts, r); }},
        {"refresh", [&] { scenario_switch(opts, r, false); }},
        {"reset", [&] { scenario_switch(opts, r, true); }},
        {"ratelimit", [&] { scenario_rate_limited(opts, r); }},
        {"webhooks", [&] { scenario_webhooks(opts, r); }},
    };
    bool ran = false;
    for (const auto& [name, run] : scenarios) {
      if (!opts.only.empty() && opts.only != name) continue;
      run();
      ran = true;
    }
    if (!ran) return usage(2);

    if (!r.startups_ms.empty()) {
      const auto startup = summarize(r.startups_ms);
      r.out["startup_ms"] = {{"median", round3(startup.p50)},
                             {"max", round3(startup.max)},
                             {"samples", startup.count},
                             {"spawn_to_auth_test_median", round3(summarize(r.auth_tests_ms).p50)},
                             {"spawn_to_hello_median", round3(summarize(r.hellos_ms).p50)}};
      const auto median = [](std::vector<long> values) {
        std::sort(values.begin(), values.end());
        return values[values.size() / 2];
      };
      auto idle = r.idle_rss_kb;
      std::sort(idle.begin(), idle.end());
      r.out["memory"] = {{"idle_rss_kb_median", idle[idle.size() / 2]},
                         {"idle_rss_kb_max", idle.back()},
                         {"idle_rss_anon_kb_median", median(r.idle_anon_kb)},
                         {"idle_rss_file_kb_median", median(r.idle_file_kb)},
                         {"peak_hwm_kb", r.peak_hwm_kb},
                         {"peak_in", r.peak_where}};
    }
    r.out["environment"]["load_average_at_end"] = [] {
      double now[3] = {0, 0, 0};
      ::getloadavg(now, 3);
      return json{round3(now[0]), round3(now[1]), round3(now[2])};
    }();
    std::cout << r.out.dump(2) << '\n';
    if (r.out.contains("memory")) print_table(r.out);
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "releasebot_bench: " << error.what() << '\n';
    return 1;
  }
}
