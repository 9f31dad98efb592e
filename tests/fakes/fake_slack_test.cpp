// The fake Slack, checked with a small synchronous Beast client that trusts only the fake's CA.
#include "tests/fakes/fake_slack.hpp"

#include "tests/fakes/test_ca.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <catch2/catch.hpp>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using releasebot::testing::fake_slack;
using namespace std::chrono_literals;

struct url_parts {
  std::string host;
  unsigned short port = 0;
  std::string target;
};

// "wss://127.0.0.1:1234/link/?ticket=1" → {"127.0.0.1", 1234, "/link/?ticket=1"}
url_parts split_url(const std::string& url, const std::string& scheme) {
  REQUIRE(url.rfind(scheme, 0) == 0);
  const std::string rest = url.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::size_t colon = authority.rfind(':');
  REQUIRE(colon != std::string::npos);
  return {authority.substr(0, colon), static_cast<unsigned short>(std::stoi(authority.substr(colon + 1))),
          slash == std::string::npos ? "/" : rest.substr(slash)};
}

ssl::context client_context(const std::string& ca_file) {
  ssl::context context(ssl::context::tls_client);
  context.load_verify_file(ca_file);
  context.set_verify_mode(ssl::verify_peer);
  return context;
}

// Connects and does the TLS handshake with SNI, checking the certificate names `host`.
void connect_tls(beast::ssl_stream<beast::tcp_stream>& stream, const url_parts& where) {
  REQUIRE(SSL_set_tlsext_host_name(stream.native_handle(), where.host.c_str()) == 1);
  REQUIRE(SSL_set1_host(stream.native_handle(), where.host.c_str()) == 1);
  beast::get_lowest_layer(stream).connect(tcp::endpoint(net::ip::make_address(where.host), where.port));
  beast::get_lowest_layer(stream).socket().set_option(tcp::no_delay(true));
  stream.handshake(ssl::stream_base::client);
}

class api_client {
public:
  explicit api_client(const fake_slack& slack)
      : where_(split_url(slack.api_url(), "https://")), context_(client_context(slack.ca_file())),
        stream_(ioc_, context_) {
    connect_tls(stream_, where_);
  }

  http::response<http::string_body> post(const std::string& method, const std::string& token,
                                         const std::string& content_type, const std::string& body) {
    http::request<http::string_body> req{http::verb::post, where_.target + method, 11};
    req.set(http::field::host, where_.host + ":" + std::to_string(where_.port));
    req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::content_type, content_type);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return res;
  }

  json post_json(const std::string& method, const std::string& token, const json& body) {
    return json::parse(post(method, token, "application/json; charset=utf-8", body.dump()).body());
  }

  json post_form(const std::string& method, const std::string& token, const std::string& body) {
    return json::parse(post(method, token, "application/x-www-form-urlencoded", body).body());
  }

private:
  url_parts where_;
  net::io_context ioc_;
  ssl::context context_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

class socket_mode_client {
public:
  socket_mode_client(const std::string& ca_file, const std::string& url)
      : where_(split_url(url, "wss://")), context_(client_context(ca_file)), ws_(ioc_, context_) {
    connect_tls(ws_.next_layer(), where_);
  }

  // The WebSocket handshake; the HTTP answer is left in response().
  beast::error_code handshake() {
    beast::error_code ec;
    ws_.handshake(response_, where_.host + ":" + std::to_string(where_.port), where_.target, ec);
    return ec;
  }

  json read() {
    beast::flat_buffer buffer;
    ws_.read(buffer);
    return json::parse(beast::buffers_to_string(buffer.data()));
  }

  beast::error_code read_error() {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws_.read(buffer, ec);
    return ec;
  }

  void write(const json& frame) { ws_.write(net::buffer(frame.dump())); }

  const websocket::response_type& response() const { return response_; }
  net::io_context& ioc() { return ioc_; }
  websocket::stream<beast::ssl_stream<beast::tcp_stream>>& ws() { return ws_; }

private:
  url_parts where_;
  net::io_context ioc_;
  ssl::context context_;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  websocket::response_type response_;
};

// A Socket Mode connection opened the way the bot does: apps.connections.open, then the URL.
std::unique_ptr<socket_mode_client> open_socket_mode(fake_slack& slack, api_client& api) {
  const json opened = api.post_form("apps.connections.open", slack.app_token(), "");
  REQUIRE(opened["ok"] == true);
  auto client = std::make_unique<socket_mode_client>(slack.ca_file(), opened["url"].get<std::string>());
  REQUIRE_FALSE(client->handshake());
  return client;
}

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 2s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

TEST_CASE("test_ca: the server certificate names 127.0.0.1 and localhost and is signed by the CA", "[fake_slack]") {
  const releasebot::testing::test_ca ca;
  const auto load = [](const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return std::unique_ptr<X509, decltype(&X509_free)>(cert, &X509_free);
  };
  const auto ca_cert = load(ca.ca_pem());
  const auto server_cert = load(ca.server_cert_pem());
  REQUIRE(ca_cert);
  REQUIRE(server_cert);
  CHECK(X509_check_ca(ca_cert.get()) == 1);
  CHECK(X509_check_ip_asc(server_cert.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_host(server_cert.get(), "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(server_cert.get(), "example.com", 0, 0, nullptr) == 0);
  CHECK(X509_verify(server_cert.get(), X509_get0_pubkey(ca_cert.get())) == 1);
  CHECK(X509_cmp_current_time(X509_get0_notBefore(server_cert.get())) < 0);
  CHECK(X509_cmp_current_time(X509_get0_notAfter(server_cert.get())) > 0);
  CHECK(ca.server_key_pem().find("PRIVATE KEY") != std::string::npos);
}

TEST_CASE("fake_slack: Socket Mode hello, an envelope and its ack", "[fake_slack]") {
  fake_slack slack;
  api_client api(slack);

  const json opened = api.post_form("apps.connections.open", slack.app_token(), "");
  REQUIRE(opened["ok"] == true);
  const std::string url = opened["url"];
  CHECK(url.rfind("wss://127.0.0.1:", 0) == 0);
  CHECK(url.find("/link/?ticket=") != std::string::npos);

  socket_mode_client client(slack.ca_file(), url);
  REQUIRE_FALSE(client.handshake());
  const json hello = client.read();
  CHECK(hello["type"] == "hello");
  CHECK(hello["num_connections"] == 1);
  CHECK(hello["connection_info"]["app_id"] == "AFAKE");
  REQUIRE(slack.wait_for_connections(1, 2s));
  CHECK(slack.connections() == 1);
  CHECK(slack.open_connections() == 1);

  const std::string envelope_id = slack.send_slash_command("U1", "C1", "start 1.2.3");
  const json envelope = client.read();
  CHECK(envelope["envelope_id"] == envelope_id);
  CHECK(envelope["type"] == "slash_commands");
  CHECK(envelope["accepts_response_payload"] == true);
  CHECK(envelope["retry_attempt"] == 0);
  CHECK(envelope["retry_reason"] == "");
  CHECK(envelope["payload"]["user_id"] == "U1");
  CHECK(envelope["payload"]["channel_id"] == "C1");
  CHECK(envelope["payload"]["command"] == "/release");
  CHECK(envelope["payload"]["text"] == "start 1.2.3");

  CHECK_FALSE(slack.wait_for_ack(envelope_id, 50ms));
  REQUIRE(slack.sent_time(envelope_id));
  CHECK_FALSE(slack.ack_time(envelope_id));
  CHECK_FALSE(slack.sent_time("never-sent"));
  client.write({{"envelope_id", envelope_id}, {"payload", {{"text", "ok"}}}});
  const auto ack = slack.wait_for_ack(envelope_id, 2s);
  REQUIRE(ack);
  CHECK((*ack)["payload"]["text"] == "ok");
  CHECK(slack.ack_count(envelope_id) == 1);
  REQUIRE(slack.ack_time(envelope_id));
  CHECK(*slack.ack_time(envelope_id) >= *slack.sent_time(envelope_id) + 50ms);
  slack.forget_envelope("never-sent");
  CHECK(slack.ack_count(envelope_id) == 1);

  client.write({{"type", "not_an_ack"}});
  CHECK(eventually([&] { return slack.other_frames().size() == 1; }));
  CHECK(slack.other_frames().at(0)["type"] == "not_an_ack");

  SECTION("the other envelopes") {
    const std::string mention = slack.send_app_mention("U2", "C9", "<@UBOT> status", "EvFIXED", 2, "env-fixed");
    CHECK(mention == "env-fixed");
    const json mentioned = client.read();
    CHECK(mentioned["type"] == "events_api");
    CHECK(mentioned["retry_attempt"] == 2);
    CHECK(mentioned["retry_reason"] == "timeout");
    CHECK(mentioned["payload"]["event_id"] == "EvFIXED");
    CHECK(mentioned["payload"]["event"]["type"] == "app_mention");
    CHECK(mentioned["payload"]["event"]["channel"] == "C9");
    CHECK(mentioned["payload"]["event"]["ts"] == mentioned["payload"]["event"]["event_ts"]);

    slack.send_direct_message("U3", "help");
    const json dm = client.read();
    CHECK(dm["payload"]["event"]["type"] == "message");
    CHECK(dm["payload"]["event"]["channel_type"] == "im");
    CHECK(dm["payload"]["event"]["channel"] == "DU3");
    CHECK(dm["payload"]["event_id"].get<std::string>().rfind("Ev", 0) == 0);

    slack.send_button_click("U4", "approve", "42", "DU4", "1700000000.000100");
    const json click = client.read();
    CHECK(click["type"] == "interactive");
    CHECK(click["payload"]["type"] == "block_actions");
    CHECK(click["payload"]["user"]["id"] == "U4");
    CHECK(click["payload"]["container"]["message_ts"] == "1700000000.000100");
    CHECK(click["payload"]["actions"][0]["action_id"] == "approve");
    CHECK(click["payload"]["actions"][0]["value"] == "42");

    slack.send_disconnect("refresh_requested");
    const json disconnect = client.read();
    CHECK(disconnect["type"] == "disconnect");
    CHECK(disconnect["reason"] == "refresh_requested");
  }

  SECTION("a ticket is good for one connection") {
    socket_mode_client again(slack.ca_file(), url);
    CHECK(again.handshake() == websocket::error::upgrade_declined);
    CHECK(again.response().result() == http::status::forbidden);
  }

  SECTION("a second connection, and sending to a chosen one") {
    auto second = open_socket_mode(slack, api);
    CHECK(second->read()["num_connections"] == 2);
    REQUIRE(slack.wait_for_connections(2, 2s));
    slack.send({{"type", "to_first"}}, 1);
    CHECK(client.read()["type"] == "to_first");
    slack.send({{"type", "to_newest"}});
    CHECK(second->read()["type"] == "to_newest");
  }

  SECTION("drop_connection closes the socket without a close frame") {
    slack.send({{"type", "last_words"}});
    slack.drop_connection();
    CHECK(client.read()["type"] == "last_words");
    const beast::error_code ec = client.read_error();
    CHECK(ec);
    CHECK(ec != websocket::error::closed);
    CHECK(eventually([&] { return slack.open_connections() == 0; }));
  }

  SECTION("reset_connection resets the TCP connection") {
    slack.reset_connection();
    const beast::error_code ec = client.read_error();
    CHECK(ec);
    CHECK(ec != websocket::error::closed);
    CHECK(eventually([&] { return slack.open_connections() == 0; }));
  }

  SECTION("go_silent stops pongs and frames, and still notices the client leaving") {
    slack.go_silent();
    bool pong = false;
    client.ws().control_callback([&](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) pong = true;
    });
    client.ws().ping({});
    slack.send({{"type", "should_not_arrive"}});
    bool read_done = false;
    beast::flat_buffer buffer;
    client.ws().async_read(buffer, [&](beast::error_code, std::size_t) { read_done = true; });
    client.ioc().run_for(400ms);
    CHECK_FALSE(pong);
    CHECK_FALSE(read_done);
    CHECK(slack.open_connections() == 1);
    beast::get_lowest_layer(client.ws()).close();
    client.ioc().run_for(100ms);  // the pending read ends
    CHECK(eventually([&] { return slack.open_connections() == 0; }));
  }
}

TEST_CASE("fake_slack: Web API answers", "[fake_slack]") {
  fake_slack slack;
  api_client api(slack);

  SECTION("auth.test with the bot token; set_auth_error") {
    const json ok = api.post_form("auth.test", slack.bot_token(), "");
    CHECK(ok["ok"] == true);
    CHECK(ok["user_id"] == slack.bot_user_id());
    slack.set_auth_error("account_inactive");
    CHECK(api.post_form("auth.test", slack.bot_token(), "")["error"] == "account_inactive");
    CHECK(api.post_form("apps.connections.open", slack.app_token(), "")["error"] == "account_inactive");
  }

  SECTION("the wrong token is invalid_auth") {
    CHECK(api.post_form("apps.connections.open", slack.bot_token(), "")["error"] == "invalid_auth");
    CHECK(api.post_form("auth.test", slack.app_token(), "")["error"] == "invalid_auth");
    const json posted = api.post_json("chat.postMessage", "xoxb-wrong", {{"channel", "C1"}, {"text", "hi"}});
    CHECK(posted["ok"] == false);
    CHECK(posted["error"] == "invalid_auth");
    const auto recorded = slack.calls("chat.postMessage");
    REQUIRE(recorded.size() == 1);
    CHECK(recorded[0].authorization == "Bearer xoxb-wrong");
  }

  SECTION("chat.postMessage with JSON and with a form; ts strictly increasing") {
    const json first = api.post_json("chat.postMessage", slack.bot_token(), {{"channel", "C1"}, {"text", "one"}});
    const json second = api.post_form("chat.postMessage", slack.bot_token(), "channel=C1&text=two+%26+more");
    REQUIRE(first["ok"] == true);
    REQUIRE(second["ok"] == true);
    CHECK(first["channel"] == "C1");
    CHECK(first["message"]["text"] == "one");
    CHECK(first["message"]["ts"] == first["ts"]);
    const std::string ts1 = first["ts"];
    const std::string ts2 = second["ts"];
    CHECK(ts1.size() == ts1.find('.') + 7);
    CHECK(std::stod(ts2) >= std::stod(ts1));
    CHECK(ts1 != ts2);
    const auto call = slack.wait_for_call(
        "chat.postMessage",
        [](const releasebot::testing::api_call& c) { return c.body.value("text", "") == "two & more"; }, 1s);
    REQUIRE(call);
    CHECK(call->content_type == "application/x-www-form-urlencoded");
    CHECK(call->response["ts"] == ts2);
    CHECK(slack.calls("chat.postMessage").at(0).body == json{{"channel", "C1"}, {"text", "one"}});
    CHECK(api.post_json("chat.postMessage", slack.bot_token(), {{"text", "nowhere"}})["error"] ==
          "channel_not_found");
  }

  SECTION("the other methods") {
    const json ephemeral = api.post_json("chat.postEphemeral", slack.bot_token(), {{"channel", "C1"}, {"user", "U1"}});
    CHECK(ephemeral["ok"] == true);
    CHECK(ephemeral["message_ts"].is_string());
    const json updated =
        api.post_json("chat.update", slack.bot_token(), {{"channel", "C1"}, {"ts", "1.000001"}, {"text", "new"}});
    CHECK(updated == json{{"ok", true}, {"channel", "C1"}, {"ts", "1.000001"}, {"text", "new"}});
    CHECK(api.post_form("conversations.open", slack.bot_token(), "users=U1")["channel"]["id"] == "DU1");
    slack.set_user_time_zone("U7", "Europe/Berlin");
    const json user = api.post_form("users.info", slack.bot_token(), "user=U7");
    CHECK(user["user"]["tz"] == "Europe/Berlin");
    CHECK(user["user"]["name"] == "u7");
    CHECK(api.post_form("users.info", slack.bot_token(), "user=U8")["user"]["tz"] == "UTC");
    CHECK(api.post_form("views.open", slack.bot_token(), "")["error"] == "unknown_method");
  }

  SECTION("rate limits and server errors") {
    slack.rate_limit("chat.postMessage", 1, 7);
    const auto limited =
        api.post("chat.postMessage", slack.bot_token(), "application/json; charset=utf-8", R"({"channel":"C1"})");
    CHECK(limited.result() == http::status::too_many_requests);
    CHECK(limited[http::field::retry_after] == "7");
    CHECK(json::parse(limited.body())["error"] == "ratelimited");
    CHECK(api.post_json("chat.postMessage", slack.bot_token(), {{"channel", "C1"}})["ok"] == true);
    const auto recorded = slack.calls("chat.postMessage");
    REQUIRE(recorded.size() == 2);
    CHECK(recorded[0].status == 429);
    CHECK(recorded[1].status == 200);

    slack.fail_with_server_error("users.info", 1);
    CHECK(api.post("users.info", slack.bot_token(), "application/x-www-form-urlencoded", "user=U1").result() ==
          http::status::service_unavailable);
    CHECK(api.post_form("users.info", slack.bot_token(), "user=U1")["ok"] == true);
  }
}

TEST_CASE("fake_slack: shuts down quickly with connections open", "[fake_slack]") {
  auto slack = std::make_unique<fake_slack>();
  api_client api(*slack);
  auto client = open_socket_mode(*slack, api);
  CHECK(client->read()["type"] == "hello");
  const auto started = std::chrono::steady_clock::now();
  slack.reset();
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK(client->read_error());
}
