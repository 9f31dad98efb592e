// The fake Teams, checked with a small synchronous Beast client that trusts only the fake's CA, and
// a tiny plain-HTTP "bot" that records what post_activity sends it.
#include "tests/fakes/fake_teams.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using releasebot::testing::connector_call;
using releasebot::testing::fake_teams;
using namespace std::chrono_literals;

struct url_parts {
  std::string host;
  unsigned short port = 0;
  std::string target;
};

// "https://127.0.0.1:1234/v1/x" → {"127.0.0.1", 1234, "/v1/x"}
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

std::string base64url_decode(const std::string& text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const char c : text) {
    const std::size_t value = alphabet.find(c);
    if (value == std::string::npos) throw std::invalid_argument("not base64url: " + text);
    bits = (bits << 6U) | static_cast<unsigned>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> static_cast<unsigned>(count)) & 0xFFU);
    }
  }
  return out;
}

// The header and the claims of a compact JWS.
std::pair<json, json> decode_jwt(const std::string& token) {
  const std::size_t first = token.find('.');
  REQUIRE(first != std::string::npos);
  const std::size_t second = token.find('.', first + 1);
  REQUIRE(second != std::string::npos);
  return {json::parse(base64url_decode(token.substr(0, first))),
          json::parse(base64url_decode(token.substr(first + 1, second - first - 1)))};
}

// A keep-alive HTTPS connection to the fake that trusts only its CA and checks the name 127.0.0.1.
class https_client {
public:
  explicit https_client(const fake_teams& teams)
      : where_(split_url(teams.base_url(), "https://")), context_(ssl::context::tls_client), stream_(ioc_, context_) {
    context_.load_verify_file(teams.ca_file());
    context_.set_verify_mode(ssl::verify_peer);
    REQUIRE(SSL_set_tlsext_host_name(stream_.native_handle(), where_.host.c_str()) == 1);
    REQUIRE(SSL_set1_host(stream_.native_handle(), where_.host.c_str()) == 1);
    beast::get_lowest_layer(stream_).connect(tcp::endpoint(net::ip::make_address(where_.host), where_.port));
    stream_.handshake(ssl::stream_base::client);
  }

  http::response<http::string_body> send(http::verb verb, const std::string& target, const std::string& body = {},
                                         const std::string& content_type = {},
                                         const std::string& authorization = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, where_.host + ":" + std::to_string(where_.port));
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return res;
  }

  json get_json(const std::string& url) {
    const auto res = send(http::verb::get, split_url(url, "https://").target);
    REQUIRE(res.result_int() == 200);
    return json::parse(res.body());
  }

  // POST url-encoded credentials to the token endpoint.
  http::response<http::string_body> token(const fake_teams& teams, const std::string& form) {
    return send(http::verb::post, split_url(teams.token_url(), "https://").target, form,
                "application/x-www-form-urlencoded");
  }

  // A Bot Connector call; `path` is relative to the service URL ("v3/conversations").
  http::response<http::string_body> connector(const fake_teams& teams, http::verb verb, const std::string& path,
                                              const json& body, const std::string& token) {
    return send(verb, split_url(teams.service_url(), "https://").target + path, body.dump(),
                "application/json; charset=utf-8", token.empty() ? std::string() : "Bearer " + token);
  }

private:
  url_parts where_;
  net::io_context ioc_;
  ssl::context context_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

std::string good_credentials(const fake_teams& teams) {
  return "grant_type=client_credentials&client_id=" + teams.app_id() + "&client_secret=" + teams.app_password() +
         "&scope=https%3A%2F%2Fapi.botframework.com%2F.default";
}

std::string fetch_token(https_client& client, const fake_teams& teams) {
  const auto res = client.token(teams, good_credentials(teams));
  REQUIRE(res.result_int() == 200);
  return json::parse(res.body())["access_token"].get<std::string>();
}

// A plain-HTTP stand-in for the bot's messaging endpoint: records each request and answers 200
// {"received":true}; its own thread.
class bot_endpoint {
public:
  struct received {
    std::string target;
    std::string authorization;
    std::string content_type;
    std::string body;
  };

  bot_endpoint() {
    const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.bind(endpoint);
    acceptor_.listen();
    net::co_spawn(ioc_, accept_loop(), net::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~bot_endpoint() {
    ioc_.stop();
    thread_.join();
  }
  bot_endpoint(const bot_endpoint&) = delete;
  bot_endpoint& operator=(const bot_endpoint&) = delete;

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/api/messages";
  }
  std::vector<received> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

private:
  net::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(net::use_awaitable);
      net::co_spawn(ioc_, serve(std::move(socket)), net::detached);
    }
  }

  net::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(5s);
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, net::use_awaitable);
    {
      std::lock_guard lock(mutex_);
      requests_.push_back({std::string(req.target()), std::string(req[http::field::authorization]),
                           std::string(req[http::field::content_type]), req.body()});
    }
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"received":true})";
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, net::use_awaitable);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  net::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  mutable std::mutex mutex_;
  std::vector<received> requests_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("fake_teams: OpenID metadata leads to the JWKS, which publishes the signer's key", "[fake_teams]") {
  fake_teams teams;
  https_client client(teams);
  CHECK(teams.base_url().rfind("https://127.0.0.1:", 0) == 0);
  CHECK(teams.service_url() == teams.base_url() + "/connector/");

  const json metadata = client.get_json(teams.openid_metadata_url());
  CHECK(metadata["issuer"] == "https://api.botframework.com");
  CHECK(metadata["id_token_signing_alg_values_supported"] == json::array({"RS256"}));
  CHECK(metadata["token_endpoint_auth_methods_supported"] == json::array({"private_key_jwt"}));
  const std::string jwks_uri = metadata["jwks_uri"];
  CHECK(jwks_uri == teams.base_url() + "/v1/.well-known/keys");

  CHECK(teams.jwks_fetches() == 0);
  const json keys = client.get_json(jwks_uri);
  CHECK(teams.jwks_fetches() == 1);
  REQUIRE(keys["keys"].size() == 1);
  const json& key = keys["keys"][0];
  CHECK(key["kid"] == teams.signer().kid());
  CHECK(key["kty"] == "RSA");
  CHECK(key["endorsements"] == json::array({"msteams"}));

  CHECK(client.send(http::verb::post, "/v1/.well-known/keys").result_int() == 405);
  CHECK(client.send(http::verb::get, "/nowhere").result_int() == 404);
  CHECK(teams.jwks_fetches() == 1);
}

TEST_CASE("fake_teams: rotate_key publishes both keys and signs with the new one", "[fake_teams]") {
  fake_teams teams;
  https_client client(teams);
  const std::string old_kid = teams.signer().kid();
  releasebot::testing::jwt_minter& old_signer = teams.signer();

  teams.rotate_key("rotated-key-2");
  CHECK(teams.signer().kid() == "rotated-key-2");
  CHECK(old_signer.kid() == old_kid);  // still alive and published
  const json keys = client.get_json(teams.base_url() + "/v1/.well-known/keys");
  REQUIRE(keys["keys"].size() == 2);
  CHECK(keys["keys"][0]["kid"] == old_kid);
  CHECK(keys["keys"][1]["kid"] == "rotated-key-2");
  CHECK(keys["keys"][1]["endorsements"] == json::array({"msteams"}));
  CHECK(keys["keys"][0]["n"] != keys["keys"][1]["n"]);
  CHECK_THROWS_AS(teams.rotate_key("rotated-key-2"), std::invalid_argument);
}

TEST_CASE("fake_teams: the token endpoint checks the client credentials", "[fake_teams]") {
  fake_teams teams;
  https_client client(teams);
  CHECK(teams.token_url() == teams.base_url() + "/tenant-1/oauth2/v2.0/token");
  CHECK(teams.last_issued_token().empty());

  const auto good = client.token(teams, good_credentials(teams));
  REQUIRE(good.result_int() == 200);
  const json issued = json::parse(good.body());
  CHECK(issued["token_type"] == "Bearer");
  CHECK(issued["expires_in"] == 3599);
  CHECK(issued["ext_expires_in"] == 3599);
  const std::string first = issued["access_token"];
  CHECK(first.size() >= 32);
  CHECK(teams.last_issued_token() == first);

  const std::string second = fetch_token(client, teams);
  CHECK(second != first);
  CHECK(teams.last_issued_token() == second);

  const std::string scope = "&scope=https%3A%2F%2Fapi.botframework.com%2F.default";
  const auto bad_secret =
      client.token(teams, "grant_type=client_credentials&client_id=" + teams.app_id() + "&client_secret=wrong" + scope);
  CHECK(bad_secret.result_int() == 401);
  CHECK(json::parse(bad_secret.body())["error"] == "invalid_client");
  const auto bad_id = client.token(
      teams, "grant_type=client_credentials&client_id=someone-else&client_secret=" + teams.app_password() + scope);
  CHECK(bad_id.result_int() == 401);
  CHECK(json::parse(bad_id.body())["error"] == "invalid_client");
  const auto bad_scope = client.token(teams, "grant_type=client_credentials&client_id=" + teams.app_id() +
                                                 "&client_secret=" + teams.app_password() + "&scope=openid");
  CHECK(bad_scope.result_int() == 400);
  CHECK(json::parse(bad_scope.body())["error"] == "invalid_scope");
  CHECK(teams.token_requests() == 5);
  CHECK(teams.last_issued_token() == second);
}

TEST_CASE("fake_teams: the Bot Connector wants an issued token and records every call", "[fake_teams]") {
  fake_teams teams;
  https_client client(teams);
  const json activity = {{"type", "message"}, {"text", "hello"}};

  const auto anonymous = client.connector(teams, http::verb::post, "v3/conversations/a:1/activities", activity, "");
  CHECK(anonymous.result_int() == 401);
  const auto forged = client.connector(teams, http::verb::post, "v3/conversations/a:1/activities", activity,
                                       teams.signer().token(teams.app_id(), teams.service_url()));
  CHECK(forged.result_int() == 401);  // a Bot Framework JWT is not an access token the endpoint issued

  const std::string token = fetch_token(client, teams);
  const auto sent = client.connector(teams, http::verb::post, "v3/conversations/a:1/activities", activity, token);
  REQUIRE(sent.result_int() == 200);
  const std::string sent_id = json::parse(sent.body())["id"];
  const auto replied =
      client.connector(teams, http::verb::post, "v3/conversations/a%3A1/activities/" + sent_id, activity, token);
  REQUIRE(replied.result_int() == 200);
  const std::string reply_id = json::parse(replied.body())["id"];
  CHECK(reply_id != sent_id);
  const auto updated = client.connector(teams, http::verb::put, "v3/conversations/a:1/activities/" + sent_id,
                                        {{"type", "message"}, {"text", "edited"}}, token);
  REQUIRE(updated.result_int() == 200);
  CHECK(json::parse(updated.body())["id"] == sent_id);

  CHECK(client.connector(teams, http::verb::post, "v3/conversations/a:1/activities", {{"text", "no type"}}, token)
            .result_int() == 400);
  CHECK(client.connector(teams, http::verb::post, "v3/elsewhere", activity, token).result_int() == 404);

  const auto calls = teams.calls();
  REQUIRE(calls.size() == 7);
  CHECK(calls[0].status == 401);
  CHECK(calls[0].authorization.empty());
  CHECK(calls[0].method == "POST");
  CHECK(calls[0].path == "/v3/conversations/a:1/activities");
  CHECK(calls[0].body == activity);
  CHECK(calls[1].status == 401);
  CHECK(calls[2].status == 200);
  CHECK(calls[2].authorization == "Bearer " + token);
  CHECK(calls[2].response["id"] == sent_id);
  CHECK(calls[3].path == "/v3/conversations/a:1/activities/" + sent_id);  // decoded
  CHECK(calls[4].method == "PUT");
  CHECK(calls[4].body["text"] == "edited");
  CHECK(calls[5].status == 400);
  CHECK(calls[6].status == 404);

  const auto found = teams.wait_for_call([](const connector_call& c) { return c.method == "PUT"; }, 1s);
  REQUIRE(found);
  CHECK(found->response["id"] == sent_id);
  CHECK_FALSE(teams.wait_for_call([](const connector_call& c) { return c.method == "DELETE"; }, 50ms));
}

TEST_CASE("fake_teams: creating a 1:1 conversation", "[fake_teams]") {
  fake_teams teams;
  https_client client(teams);
  const std::string token = fetch_token(client, teams);
  const json create = {{"bot", {{"id", "28:" + teams.app_id()}}},
                       {"members", json::array({{{"id", "29:aad-7"}}})},
                       {"isGroup", false},
                       {"tenantId", teams.tenant_id()},
                       {"channelData", {{"tenant", {{"id", teams.tenant_id()}}}}}};
  const auto created = client.connector(teams, http::verb::post, "v3/conversations", create, token);
  REQUIRE(created.result_int() == 200);
  CHECK(json::parse(created.body()) == json{{"id", "a:conv-29:aad-7"}});
  // The same id message_activity uses for that user's personal chat.
  CHECK(teams.message_activity("aad-7", "hi")["conversation"]["id"] == "a:conv-29:aad-7");

  json no_tenant = create;
  no_tenant.erase("channelData");
  CHECK(client.connector(teams, http::verb::post, "v3/conversations", no_tenant, token).result_int() == 400);
  CHECK(client.connector(teams, http::verb::post, "v3/conversations", {{"members", json::array()}}, token)
            .result_int() == 400);

  const auto call = teams.wait_for_call([](const connector_call& c) { return c.path == "/v3/conversations"; }, 1s);
  REQUIRE(call);
  CHECK(call->body["members"][0]["id"] == "29:aad-7");
  CHECK(call->response["id"] == "a:conv-29:aad-7");
}

TEST_CASE("fake_teams: fail_next_calls answers 429, 403, 404 and 401 as told", "[fake_teams]") {
  fake_teams teams;
  https_client client(teams);
  const std::string token = fetch_token(client, teams);
  const json activity = {{"type", "message"}, {"text", "hello"}};
  const auto post = [&] {
    return client.connector(teams, http::verb::post, "v3/conversations/a:1/activities", activity, token);
  };

  teams.fail_next_calls(429, 2, 3);
  for (int i = 0; i < 2; ++i) {
    const auto limited = post();
    CHECK(limited.result_int() == 429);
    CHECK(limited[http::field::retry_after] == "3");
  }
  CHECK(post().result_int() == 200);

  teams.fail_next_calls(403, 1);
  const auto roster = post();
  CHECK(roster.result_int() == 403);
  const json roster_error = {
      {"error",
       {{"code", "BotNotInConversationRoster"}, {"message", "The bot is not part of the conversation roster."}}}};
  CHECK(json::parse(roster.body()) == roster_error);
  CHECK(roster[http::field::retry_after].empty());

  teams.fail_next_calls(404, 1);
  const auto missing = post();
  CHECK(missing.result_int() == 404);
  CHECK(json::parse(missing.body()) ==
        json{{"error", {{"code", "ConversationNotFound"}, {"message", "Conversation not found."}}}});

  teams.fail_next_calls(401, 1);
  CHECK(post().result_int() == 401);
  CHECK(post().result_int() == 200);

  const auto calls = teams.calls();
  REQUIRE(calls.size() == 7);
  CHECK(calls[0].status == 429);
  CHECK(calls[0].response["error"]["code"].is_string());
  CHECK(calls[3].status == 403);
  CHECK(calls[3].response["error"]["code"] == "BotNotInConversationRoster");
  CHECK(calls[4].status == 404);
  CHECK(calls[5].status == 401);
  CHECK(calls[6].status == 200);
  CHECK_THROWS_AS(teams.fail_next_calls(42, 1), std::invalid_argument);
}

TEST_CASE("fake_teams: activities look like Teams'", "[fake_teams]") {
  fake_teams teams;

  const json personal = teams.message_activity("aad-1", "<at>releasebot</at> start 1.2.3");
  CHECK(personal["type"] == "message");
  CHECK(personal["channelId"] == "msteams");
  CHECK(personal["serviceUrl"] == teams.service_url());
  CHECK(personal["from"] == json{{"id", "29:aad-1"}, {"name", "aad-1"}, {"aadObjectId", "aad-1"}});
  CHECK(personal["conversation"]["id"] == "a:conv-29:aad-1");
  CHECK(personal["conversation"]["conversationType"] == "personal");
  CHECK(personal["conversation"]["tenantId"] == teams.tenant_id());
  CHECK(personal["recipient"] == json{{"id", "28:" + teams.app_id()}, {"name", "releasebot"}});
  CHECK(personal["text"] == "<at>releasebot</at> start 1.2.3");
  CHECK(personal["textFormat"] == "plain");
  CHECK(personal["channelData"]["tenant"]["id"] == teams.tenant_id());
  const std::string timestamp = personal["timestamp"];
  CHECK(timestamp.size() == 28);
  CHECK(timestamp.back() == 'Z');
  REQUIRE(personal["entities"].is_array());
  CHECK(personal["entities"][0] == json{{"type", "mention"},
                                        {"text", "<at>releasebot</at>"},
                                        {"mentioned", {{"id", "28:" + teams.app_id()}, {"name", "releasebot"}}}});

  const json channel = teams.message_activity("aad-2", "status", false, "fixed-id");
  CHECK(channel["id"] == "fixed-id");
  CHECK(channel["conversation"]["id"] == "19:channel@thread.tacv2;messageid=1");
  CHECK(channel["conversation"]["conversationType"] == "channel");
  for (const json& entity : channel["entities"]) CHECK(entity["type"] != "mention");
  CHECK(personal["id"] != teams.message_activity("aad-1", "again")["id"]);

  const json click = teams.card_action_activity("aad-3", "approve", "req-9", "1700000000000");
  CHECK(click["type"] == "invoke");
  CHECK(click["name"] == "adaptiveCard/action");
  CHECK(click["replyToId"] == "1700000000000");
  const json value = {
      {"action", {{"type", "Action.Execute"}, {"verb", "approve"}, {"data", {{"request", "req-9"}}}}},
      {"trigger", "manual"}};
  CHECK(click["value"] == value);
  CHECK(click["from"]["aadObjectId"] == "aad-3");
  CHECK(click["conversation"]["conversationType"] == "personal");
  CHECK(click["recipient"]["id"] == "28:" + teams.app_id());
  CHECK(click["serviceUrl"] == teams.service_url());
  CHECK(click["channelData"]["tenant"]["id"] == teams.tenant_id());
  CHECK_FALSE(click["id"].get<std::string>().empty());
}

TEST_CASE("fake_teams: post_activity plays Teams calling the bot", "[fake_teams]") {
  fake_teams teams;
  bot_endpoint bot;
  const json activity = teams.message_activity("aad-1", "help");

  SECTION("with a fresh token from the signer over plain HTTP") {
    const auto answer = teams.post_activity(bot.url(), activity);
    CHECK(answer.status == 200);
    CHECK(json::parse(answer.body) == json{{"received", true}});
    const auto received = bot.requests();
    REQUIRE(received.size() == 1);
    CHECK(received[0].target == "/api/messages");
    CHECK(received[0].content_type.rfind("application/json", 0) == 0);
    CHECK(json::parse(received[0].body) == activity);
    REQUIRE(received[0].authorization.rfind("Bearer ", 0) == 0);
    const auto [header, claims] = decode_jwt(received[0].authorization.substr(7));
    CHECK(header["alg"] == "RS256");
    CHECK(header["kid"] == teams.signer().kid());
    CHECK(claims["aud"] == teams.app_id());
    CHECK(claims["iss"] == "https://api.botframework.com");
    CHECK(claims["serviceurl"] == teams.service_url());

    teams.rotate_key("next-key");
    REQUIRE(teams.post_activity(bot.url(), activity).status == 200);
    CHECK(decode_jwt(bot.requests().at(1).authorization.substr(7)).first["kid"] == "next-key");
  }

  SECTION("with a given token") {
    CHECK(teams.post_activity(bot.url(), activity, "not-a-jwt").status == 200);
    REQUIRE(bot.requests().size() == 1);
    CHECK(bot.requests()[0].authorization == "Bearer not-a-jwt");
  }

  SECTION("over HTTPS (to the fake itself, which trusts only tokens it issued)") {
    const std::string url = teams.service_url() + "v3/conversations/a:1/activities";
    CHECK(teams.post_activity(url, activity).status == 401);
    https_client client(teams);
    const std::string token = fetch_token(client, teams);
    const auto answer = teams.post_activity(url, activity, token);
    CHECK(answer.status == 200);
    CHECK(json::parse(answer.body)["id"].is_string());
    CHECK(teams.calls().at(1).body == activity);
  }

  SECTION("nobody listening: status 0 and the reason") {
    std::string closed_url;
    {
      bot_endpoint gone;
      closed_url = gone.url();
    }
    const auto answer = teams.post_activity(closed_url, activity);
    CHECK(answer.status == 0);
    CHECK_FALSE(answer.body.empty());
  }
}

TEST_CASE("fake_teams: shuts down quickly with a connection open", "[fake_teams]") {
  auto teams = std::make_unique<fake_teams>();
  https_client client(*teams);
  CHECK(client.get_json(teams->openid_metadata_url())["issuer"] == "https://api.botframework.com");
  const auto started = std::chrono::steady_clock::now();
  teams.reset();
  CHECK(std::chrono::steady_clock::now() - started < 1s);
}
