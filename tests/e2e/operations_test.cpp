// End-to-end: the operations endpoints (/healthz, /readyz, /metrics) of the real `releasebot run`,
// with no credentials, and as a Slack bot against the fake Slack, connected and then cut off.
#include "../fakes/fake_slack.hpp"
#include "../fakes/test_ca.hpp"
#include "process.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using releasebot::testing::fake_slack;
using releasebot::testing::free_port;
using releasebot::testing::running_process;
using releasebot::testing::temp_dir;
using releasebot::testing::test_ca;

namespace {

namespace asio = boost::asio;

using http_answer = releasebot::testing::http_reply;

http_answer http_get(unsigned short port, const std::string& path) {
  return releasebot::testing::http_request(port, "GET", path);
}

// GET over TLS, trusting only `ca_pem`; status 0 when the handshake (or anything) fails.
int https_get_status(unsigned short port, const std::string& ca_pem, const std::string& path) {
  try {
    asio::io_context io;
    asio::ssl::context tls{asio::ssl::context::tls_client};
    tls.add_certificate_authority(asio::buffer(ca_pem));
    tls.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<asio::ip::tcp::socket> stream{io, tls};
    stream.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    stream.handshake(asio::ssl::stream_base::client);
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    asio::write(stream, asio::buffer(request));
    std::string raw;
    boost::system::error_code error;
    asio::read(stream, asio::dynamic_buffer(raw), error);
    std::istringstream head{raw};
    std::string version;
    int status = 0;
    head >> version >> status;
    return status;
  } catch (const std::exception&) {
    return 0;
  }
}

// One Prometheus text-format sample line: name{labels} value.
using samples = std::map<std::string, double>;

// Parses the exposition format strictly: every line is a # HELP, # TYPE or a sample; a malformed
// line fails the test. Samples are keyed by "name{labels}" exactly as written.
samples parse_prometheus(const std::string& text) {
  static const std::regex sample{R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?) (-?[0-9.eE+-]+|\+Inf|NaN)$)"};
  static const std::regex comment{R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)"};
  samples out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    INFO("metrics line: " << line);
    std::smatch match;
    if (std::regex_match(line, comment)) continue;
    REQUIRE(std::regex_match(line, match, sample));
    out[match[1]] = std::stod(match[3]);
  }
  return out;
}

class bot_with_http {
public:
  bot_with_http() : port_{free_port()} {
    std::ofstream{config()} << "[bot]\npolicy = \"" << RELEASEBOT_SOURCE_DIR << "/deploy/policy.toml\"\n"
                            << "[access]\nadmins = [\"UALICE\"]\n"
                            << "[slack]\nrelease_channel = \"CREL\"\nidle_timeout_ms = 2000\n"
                            << "[http]\nlisten = \"127.0.0.1:" << port_ << "\"\n";
  }

  std::unique_ptr<running_process> start(bool with_slack) {
    if (with_slack) {
      ::setenv("SLACK_APP_TOKEN", slack.app_token().c_str(), 1);
      ::setenv("SLACK_BOT_TOKEN", slack.bot_token().c_str(), 1);
      ::setenv("SLACK_API_URL", slack.api_url().c_str(), 1);
      ::setenv("SSL_CERT_FILE", slack.ca_file().c_str(), 1);
    } else {
      ::unsetenv("SLACK_APP_TOKEN");
      ::unsetenv("SLACK_BOT_TOKEN");
    }
    ::unsetenv("MICROSOFT_APP_ID");
    ::unsetenv("MICROSOFT_APP_PASSWORD");
    ::unsetenv("MICROSOFT_APP_TENANT_ID");
    auto bot = std::make_unique<running_process>(std::vector<std::string>{
        RELEASEBOT_BINARY, "run", "--as", "UALICE", "--db", dir_.file("bot.db"), "--config", config(), "--log-level", "info"});
    for (int i = 0; i < 100; ++i) {
      if (get("/healthz").status != 0) return bot;
      bot->wait_for_output("\x01", 50ms);
    }
    FAIL("the bot never answered on port " << port_ << "; it said:\n" << bot->out() << bot->err());
    return bot;
  }

  http_answer get(const std::string& path) const { return http_get(port_, path); }

  // Polls /readyz until it answers `status` (it follows connections, which take a moment).
  http_answer wait_for_readiness(int status, std::chrono::milliseconds timeout = 10s) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto answer = get("/readyz");
    while (answer.status != status && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      answer = get("/readyz");
    }
    return answer;
  }

  std::string config() const { return dir_.file("releasebot.toml"); }

  fake_slack slack;

private:
  temp_dir dir_;
  unsigned short port_;
};

}  // namespace

TEST_CASE("operations endpoints with no credentials: alive, ready, and counting", "[e2e][operations]") {
  bot_with_http setup;
  auto bot = setup.start(false);

  const auto health = setup.get("/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok\n");

  const auto ready = setup.get("/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");

  // A command on the console, then the counters say so.
  bot->write("open 4.2.0 minor\nstatus 4.2.0\ndeploy 9.9.9 uat start\n");
  REQUIRE(bot->wait_for_output("Stage: planning", 10s));
  REQUIRE(bot->wait_for_output("there is no release 9.9.9", 10s));

  const auto scraped = setup.get("/metrics");
  REQUIRE(scraped.status == 200);
  CHECK(scraped.content_type == "text/plain; version=0.0.4; charset=utf-8");
  INFO(scraped.body);
  const auto metrics = parse_prometheus(scraped.body);
  CHECK(metrics.at(R"(releasebot_commands_total{family="open",outcome="applied"})") == 1);
  CHECK(metrics.at(R"(releasebot_commands_total{family="status",outcome="answered"})") == 1);
  CHECK(metrics.at(R"(releasebot_commands_total{family="deploy",outcome="refused"})") == 1);
  CHECK(metrics.at(R"(releasebot_deliveries_total{platform="console",result="sent"})") >= 1);
  CHECK(metrics.at("releasebot_db_commit_seconds_count") >= 1);
  CHECK(metrics.count(R"(releasebot_db_commit_seconds_bucket{le="+Inf"})") == 1);
  CHECK(scraped.body.find("# TYPE releasebot_commands_total counter") != std::string::npos);
  CHECK(scraped.body.find("# TYPE releasebot_outbox_pending gauge") != std::string::npos);

  CHECK(setup.get("/nowhere").status == 404);
  CHECK(setup.get("/api/messages").status == 404);  // Teams is not configured, so no such route

  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("readiness follows the Slack connection: ready when connected, 503 when cut off", "[e2e][operations]") {
  bot_with_http setup;
  auto bot = setup.start(true);
  REQUIRE(setup.slack.wait_for_connections(1, 10s));

  const auto connected = setup.wait_for_readiness(200);
  CHECK(connected.status == 200);
  CHECK(connected.body == "ready\n");

  // Slack goes away and will not hand out a new connection.
  setup.slack.fail_with_server_error("apps.connections.open", 1000);
  setup.slack.drop_connection();
  const auto cut_off = setup.wait_for_readiness(503);
  CHECK(cut_off.status == 503);
  CHECK(cut_off.body.find("slack: Socket Mode is not connected") != std::string::npos);
  CHECK(setup.get("/healthz").status == 200);  // alive all the same: a supervisor must not restart it

  // Slack comes back: ready again, without a restart, and the reconnect is counted.
  setup.slack.fail_with_server_error("apps.connections.open", 0);
  const auto back = setup.wait_for_readiness(200, 30s);
  CHECK(back.status == 200);
  const auto metrics = parse_prometheus(setup.get("/metrics").body);
  CHECK(metrics.at(R"(releasebot_reconnects_total{platform="slack"})") >= 1);

  bot->signal(SIGTERM);
  CHECK(bot->wait() == 0);
}

TEST_CASE("the HTTP server speaks TLS itself when given a certificate, and SIGHUP reloads it", "[e2e][operations]") {
  temp_dir dir;
  const auto port = free_port();
  const test_ca first;
  std::ofstream{dir.file("bot.crt")} << first.server_cert_pem();
  std::ofstream{dir.file("bot.key")} << first.server_key_pem();
  std::ofstream{dir.file("releasebot.toml")} << "[bot]\npolicy = \"" << RELEASEBOT_SOURCE_DIR << "/deploy/policy.toml\"\n"
                                             << "[http]\nlisten = \"127.0.0.1:" << port << "\"\n"
                                             << "tls_certificate = \"bot.crt\"\ntls_private_key = \"bot.key\"\n";
  ::unsetenv("SLACK_APP_TOKEN");
  ::unsetenv("SLACK_BOT_TOKEN");
  running_process bot{{RELEASEBOT_BINARY, "run", "--db", dir.file("bot.db"), "--config", dir.file("releasebot.toml")}};
  bot.close_input();
  int status = 0;
  for (int i = 0; i < 100 && status == 0; ++i) {
    status = https_get_status(port, first.ca_pem(), "/healthz");
    if (status == 0) std::this_thread::sleep_for(50ms);
  }
  INFO(bot.out() << bot.err());
  CHECK(status == 200);
  CHECK(http_get(port, "/healthz").status != 200);  // plain HTTP is not served on a TLS port

  // A renewed certificate from another CA: written in place, then SIGHUP.
  const test_ca second;
  std::ofstream{dir.file("bot.crt")} << second.server_cert_pem();
  std::ofstream{dir.file("bot.key")} << second.server_key_pem();
  bot.signal(SIGHUP);
  int renewed = 0;
  for (int i = 0; i < 50 && renewed != 200; ++i) {
    renewed = https_get_status(port, second.ca_pem(), "/healthz");
    if (renewed != 200) std::this_thread::sleep_for(50ms);
  }
  CHECK(renewed == 200);
  CHECK(https_get_status(port, first.ca_pem(), "/healthz") == 0);  // the old certificate is gone

  // A broken renewal keeps the certificate that works.
  std::ofstream{dir.file("bot.key")} << "not a key";
  bot.signal(SIGHUP);
  CHECK(bot.wait_for_log("TLS certificate not reloaded, keeping the old one", 5s));
  CHECK(https_get_status(port, second.ca_pem(), "/healthz") == 200);

  bot.signal(SIGTERM);
  CHECK(bot.wait() == 0);
}
