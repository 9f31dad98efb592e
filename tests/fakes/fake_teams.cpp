// The fake Microsoft side of Teams: one TLS port on 127.0.0.1 serving the OpenID metadata and JWKS
// documents, the token endpoint and the Bot Connector (HTTPS, keep-alive). Everything on the wire
// runs on one thread with its own io_context, so connection state needs no locking; what the test
// thread reads or sets (keys, tokens, calls, failures) lives under one mutex. post_activity plays
// Teams calling the bot: a client with an io_context of its own, run on the calling thread.
#include "tests/fakes/fake_teams.hpp"

#include "tests/fakes/test_ca.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <exception>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

namespace releasebot::testing {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

constexpr std::size_t body_limit = 1024 * 1024;
constexpr std::uint32_t header_limit = 64 * 1024;
constexpr auto handshake_timeout = std::chrono::seconds(10);  // TLS and the first request
constexpr auto idle_timeout = std::chrono::seconds(30);       // between keep-alive requests
constexpr auto write_timeout = std::chrono::seconds(10);
constexpr auto tls_shutdown_timeout = std::chrono::seconds(1);
constexpr auto graceful_stop_timeout = std::chrono::milliseconds(500);
constexpr auto client_timeout = std::chrono::seconds(10);  // post_activity, all of it

const std::string issuer = "https://api.botframework.com";
const std::string token_scope = "https://api.botframework.com/.default";
const std::string bot_name = "releasebot";
const std::string keys_path = "/v1/.well-known/keys";
const std::string metadata_path = "/v1/.well-known/openidconfiguration";
const std::string connector_prefix = "/connector/";
const std::string denied_message = "Authorization has been denied for this request.";

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `plus_is_space` for form fields, not for path segments.
std::string url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// "a=1&b=x+y" → {"a":"1","b":"x y"}; a repeated key keeps its last value.
json parse_form(std::string_view text) {
  json fields = json::object();
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('&', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view pair = text.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t equals = pair.find('=');
      const std::string key = url_decode(pair.substr(0, equals), true);
      fields[key] = equals == std::string_view::npos ? std::string() : url_decode(pair.substr(equals + 1), true);
    }
    start = end + 1;
  }
  return fields;
}

// A string member of a JSON object, "" when absent or not a string.
std::string string_at(const json& object, const json::json_pointer& pointer) {
  if (!object.is_object() || !object.contains(pointer)) return {};
  const json& value = object.at(pointer);
  return value.is_string() ? value.get<std::string>() : std::string();
}

// The Bot Connector's error shape.
json connector_error(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

// The token endpoint's (Entra ID's) error shape.
json oauth_error(const std::string& error, const std::string& description) {
  return {{"error", error}, {"error_description", description}};
}

response json_response(unsigned status, const json& body, const request& req, int retry_after_seconds = 0) {
  response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::server, "fake-teams");
  res.set(http::field::content_type, "application/json; charset=utf-8");
  if (retry_after_seconds > 0) res.set(http::field::retry_after, std::to_string(retry_after_seconds));
  res.keep_alive(req.keep_alive());
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

// The body a connector call answered with `status` carries when the fake was told to fail it.
json failure_body(int status) {
  switch (status) {
    case 401: return {{"message", denied_message}};
    case 403: return connector_error("BotNotInConversationRoster", "The bot is not part of the conversation roster.");
    case 404: return connector_error("ConversationNotFound", "Conversation not found.");
    case 429: return connector_error("Throttled", "Too many requests.");
    default: return connector_error("ServiceError", "The service failed (fake_teams.fail_next_calls).");
  }
}

// Teams' own timestamp form: "2024-05-01T12:34:56.1234560Z".
std::string iso_timestamp(std::chrono::system_clock::time_point at) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 32> text{};
  const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  std::string fraction = std::to_string(micros % 1'000'000 * 10);
  fraction.insert(0, 7 - fraction.size(), '0');
  return std::string(text.data(), length) + "." + fraction + "Z";
}

std::string random_token() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return base64url(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// ---- post_activity's client

struct url_parts {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string target;
};

// http(s)://host[:port][/path…] → parts; throws std::invalid_argument on anything else.
url_parts split_url(std::string_view url) {
  url_parts parts;
  std::string_view rest;
  if (url.starts_with("https://")) {
    parts.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    throw std::invalid_argument("post_activity: not an http(s) URL: " + std::string(url));
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  parts.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("post_activity: bad host in " + std::string(url));
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) throw std::invalid_argument("post_activity: no host in " + std::string(url));
  parts.host = std::string(host);
  parts.port = port.empty() ? (parts.tls ? "443" : "80") : std::string(port);
  return parts;
}

template <class Stream>
net::awaitable<response> exchange(Stream& stream, const request& req) {
  co_await http::async_write(stream, req, net::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  co_await http::async_read(stream, buffer, parser, net::use_awaitable);
  co_return parser.release();
}

// One request on a fresh connection (Connection: close), everything within client_timeout.
// Transport failures come back as status 0 with the reason in the body.
http_answer send_once(const url_parts& where, const request& req, const std::string& extra_ca_pem) {
  ssl::context tls_context(ssl::context::tls_client);
  if (where.tls) {
    tls_context.set_default_verify_paths();  // honours SSL_CERT_FILE / SSL_CERT_DIR
    tls_context.add_certificate_authority(net::buffer(extra_ca_pem));
    tls_context.set_verify_mode(ssl::verify_peer);
  }
  http_answer answer;
  bool finished = false;
  net::io_context ioc{1};
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        const auto executor = co_await net::this_coro::executor;
        tcp::resolver resolver(executor);
        const auto endpoints = co_await resolver.async_resolve(where.host, where.port, net::use_awaitable);
        beast::tcp_stream tcp_layer(executor);
        tcp_layer.expires_after(client_timeout);  // a deadline for everything that follows
        co_await tcp_layer.async_connect(endpoints, net::use_awaitable);
        response res;
        if (where.tls) {
          tls_stream stream(std::move(tcp_layer), tls_context);
          if (SSL_set_tlsext_host_name(stream.native_handle(), where.host.c_str()) != 1 ||
              SSL_set1_host(stream.native_handle(), where.host.c_str()) != 1) {
            throw std::runtime_error("cannot set the TLS host name");
          }
          co_await stream.async_handshake(ssl::stream_base::client, net::use_awaitable);
          res = co_await exchange(stream, req);
        } else {
          res = co_await exchange(tcp_layer, req);
        }
        answer.status = static_cast<int>(res.result_int());
        answer.body = std::move(res.body());
      },
      [&](std::exception_ptr error) {
        finished = true;
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          answer = http_answer{0, std::string("post_activity failed: ") + e.what()};
        }
      });
  ioc.run_for(client_timeout + std::chrono::seconds(1));  // the stream's deadline ends it before this
  if (!finished) answer = http_answer{0, "post_activity failed: timed out"};
  return answer;
}

}  // namespace

struct fake_teams::impl {
  struct http_connection {
    http_connection(tcp::socket socket, ssl::context& context) : stream(std::move(socket), context) {}
    tls_stream stream;
  };
  struct failure {
    int status = 0;
    int times = 0;
    int retry_after_seconds = 0;
    std::string path_contains;  // only calls whose path contains this fail ("" = every call)
  };

  explicit impl(const fake_teams& owner);
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // ---- server thread
  void run();
  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(tcp::socket socket);
  void shut_down();
  response answer(const request& req);
  response answer_metadata(const request& req) const;
  response answer_keys(const request& req);
  response answer_token(const request& req);
  response answer_connector(const request& req, std::string_view path);
  void answer_members_locked(connector_call& call, const std::vector<std::string>& segments, const json& query);
  const team_member* member_locked(const std::string& id) const;
  // Routes an authorized connector call; sets call.status and call.response.
  void dispatch_connector_locked(connector_call& call, const std::vector<std::string>& segments, bool bad_json,
                                 const json& query);

  // ---- any thread
  std::string base_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string fresh_activity_id();
  std::string fresh_activity_id_locked();
  json activity_base(const std::string& type, const std::string& id, const std::string& user_aad_id,
                     bool personal) const;
  json from_of(const std::string& object_id) const;

  const fake_teams& owner_;  // for its constants (app id, password, tenant)
  test_ca ca_;
  ssl::context ssl_context_{ssl::context::tls_server};

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // guarded by mutex_
  std::vector<std::unique_ptr<jwt_minter>> keys_;  // published, oldest first; never removed
  jwt_minter* signer_ = nullptr;
  int jwks_fetches_ = 0;
  int token_requests_ = 0;
  std::set<std::string> issued_tokens_;
  std::string last_issued_token_;
  std::vector<connector_call> calls_;
  failure failure_;
  std::vector<team_member> members_;
  int roster_page_size_ = 2;
  std::int64_t last_activity_millis_ = 0;
  bool run_done_ = false;

  // server thread only (and the destructor once the thread is gone)
  std::vector<std::weak_ptr<http_connection>> http_connections_;
  bool stopping_ = false;

  // Declared last so that sockets are gone before the context and the context before the state.
  net::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  unsigned short port_ = 0;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// impl: lifetime

fake_teams::impl::impl(const fake_teams& owner) : owner_(owner) {
  keys_.push_back(std::make_unique<jwt_minter>());
  signer_ = keys_.back().get();

  ssl_context_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ssl_context_.use_certificate_chain(net::buffer(ca_.server_cert_pem()));
  ssl_context_.use_private_key(net::buffer(ca_.server_key_pem()), ssl::context::pem);

  const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();

  net::co_spawn(ioc_, accept_loop(), net::detached);
  thread_ = std::thread([this] { run(); });
}

fake_teams::impl::~impl() {
  // Close everything on the server thread and let run() return by itself; stop it if that is slow.
  net::post(ioc_, [this] { shut_down(); });
  bool done = false;
  {
    std::unique_lock lock(mutex_);
    done = changed_.wait_for(lock, graceful_stop_timeout, [this] { return run_done_; });
  }
  if (!done) ioc_.stop();
  thread_.join();
  http_connections_.clear();
}

void fake_teams::impl::run() {
  for (;;) {
    try {
      ioc_.run();
      break;
    } catch (const std::exception&) {
      // A handler threw; the connection it served is gone, the server keeps running.
    }
  }
  {
    std::lock_guard lock(mutex_);
    run_done_ = true;
  }
  changed_.notify_all();
}

void fake_teams::impl::shut_down() {
  stopping_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  for (const auto& weak : http_connections_) {
    if (const auto connection = weak.lock()) beast::get_lowest_layer(connection->stream).close();
  }
}

// ---------------------------------------------------------------------------------------------
// impl: connections

net::awaitable<void> fake_teams::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (stopping_ || !acceptor_.is_open()) co_return;
    if (ec) {
      net::steady_timer pause(ioc_, std::chrono::milliseconds(10));  // e.g. out of descriptors
      co_await pause.async_wait(use_tuple);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    net::co_spawn(ioc_, serve(std::move(socket)), net::detached);
  }
}

net::awaitable<void> fake_teams::impl::serve(tcp::socket socket) {
  if (stopping_) co_return;
  auto connection = std::make_shared<http_connection>(std::move(socket), ssl_context_);
  std::erase_if(http_connections_, [](const std::weak_ptr<http_connection>& weak) { return weak.expired(); });
  http_connections_.push_back(connection);
  tls_stream& stream = connection->stream;
  beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);

  tcp_layer.expires_after(handshake_timeout);
  const auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
  if (handshake_error) co_return;

  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    tcp_layer.expires_after(first ? handshake_timeout : idle_timeout);
    const auto [read_error, read_size] = co_await http::async_read(stream, buffer, parser, use_tuple);
    static_cast<void>(read_size);
    if (read_error == http::error::body_limit) {
      request too_big;
      too_big.version(11);
      too_big.keep_alive(false);
      const response res = json_response(413, connector_error("RequestTooLarge", "The request is too large."), too_big);
      tcp_layer.expires_after(write_timeout);
      co_await http::async_write(stream, res, use_tuple);
      break;
    }
    if (read_error) co_return;  // closed by the client, idle, or garbage

    const response res = answer(parser.get());
    tcp_layer.expires_after(write_timeout);
    const auto [write_error, write_size] = co_await http::async_write(stream, res, use_tuple);
    static_cast<void>(write_size);
    if (write_error) co_return;
    if (!res.keep_alive()) break;
  }
  tcp_layer.expires_after(tls_shutdown_timeout);
  co_await stream.async_shutdown(use_tuple);
}

// ---------------------------------------------------------------------------------------------
// impl: answers

response fake_teams::impl::answer(const request& req) {
  std::string_view path = req.target();
  path = path.substr(0, path.find('?'));
  if (path == metadata_path) return answer_metadata(req);
  if (path == keys_path) return answer_keys(req);
  if (path == "/" + owner_.tenant_id() + "/oauth2/v2.0/token") return answer_token(req);
  if (path.starts_with(connector_prefix)) return answer_connector(req, path.substr(connector_prefix.size() - 1));
  return json_response(404, {{"error", "not_found"}}, req);
}

response fake_teams::impl::answer_metadata(const request& req) const {
  if (req.method() != http::verb::get) return json_response(405, {{"error", "method_not_allowed"}}, req);
  const json metadata = {{"issuer", issuer},
                         {"authorization_endpoint", "https://invalid"},
                         {"jwks_uri", base_url() + keys_path},
                         {"id_token_signing_alg_values_supported", json::array({"RS256"})},
                         {"token_endpoint_auth_methods_supported", json::array({"private_key_jwt"})}};
  return json_response(200, metadata, req);
}

response fake_teams::impl::answer_keys(const request& req) {
  if (req.method() != http::verb::get) return json_response(405, {{"error", "method_not_allowed"}}, req);
  json keys = json::array();
  {
    std::lock_guard lock(mutex_);
    ++jwks_fetches_;
    for (const auto& key : keys_) keys.push_back(key->jwk({"msteams"}));
  }
  changed_.notify_all();
  return json_response(200, {{"keys", std::move(keys)}}, req);
}

response fake_teams::impl::answer_token(const request& req) {
  {
    std::lock_guard lock(mutex_);
    ++token_requests_;
  }
  changed_.notify_all();
  if (req.method() != http::verb::post) {
    return json_response(405, oauth_error("invalid_request", "AADSTS900561: The endpoint only accepts POST requests."),
                         req);
  }
  if (!lowercase(req[http::field::content_type]).starts_with("application/x-www-form-urlencoded")) {
    return json_response(
        400, oauth_error("invalid_request", "AADSTS900144: The body must be application/x-www-form-urlencoded."), req);
  }
  const json form = parse_form(req.body());
  const std::string grant_type = form.value("grant_type", "");
  if (grant_type.empty()) {
    return json_response(
        400, oauth_error("invalid_request", "AADSTS900144: The request body must contain the following parameter: "
                                            "'grant_type'."),
        req);
  }
  if (grant_type != "client_credentials") {
    return json_response(
        400, oauth_error("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."), req);
  }
  if (form.value("client_id", "") != owner_.app_id() || form.value("client_secret", "") != owner_.app_password()) {
    return json_response(
        401, oauth_error("invalid_client", "AADSTS7000215: Invalid client secret provided."), req);
  }
  if (form.value("scope", "") != token_scope) {
    return json_response(400, oauth_error("invalid_scope", "AADSTS70011: The provided value for 'scope' is not valid."),
                         req);
  }
  const std::string token = random_token();
  {
    std::lock_guard lock(mutex_);
    issued_tokens_.insert(token);
    last_issued_token_ = token;
  }
  changed_.notify_all();
  return json_response(
      200, {{"token_type", "Bearer"}, {"expires_in", 3599}, {"ext_expires_in", 3599}, {"access_token", token}}, req);
}

// `path` starts after "/connector": "/v3/conversations/…".
response fake_teams::impl::answer_connector(const request& req, std::string_view path) {
  connector_call call;
  call.method = std::string(req.method_string());
  call.authorization = std::string(req[http::field::authorization]);

  // Segments are split before decoding, so an encoded "/" inside a conversation id stays inside it.
  std::vector<std::string> segments;
  for (std::size_t start = 1; start <= path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.push_back(url_decode(path.substr(start, end - start), false));
    start = end + 1;
  }
  if (!segments.empty() && segments.back().empty()) segments.pop_back();  // a trailing slash
  for (const std::string& segment : segments) call.path += "/" + segment;

  bool bad_json = false;
  if (!req.body().empty()) {
    call.body = json::parse(req.body(), nullptr, false);
    if (call.body.is_discarded()) {
      call.body = req.body();  // kept as text
      bad_json = true;
    }
  }

  int retry_after_seconds = 0;
  {
    std::lock_guard lock(mutex_);
    std::string token;
    if (call.authorization.size() > 7 && lowercase(call.authorization.substr(0, 7)) == "bearer ") {
      token = call.authorization.substr(7);
    }
    if (failure_.times > 0 && call.path.find(failure_.path_contains) != std::string::npos) {
      --failure_.times;
      call.status = failure_.status;
      call.response = failure_body(failure_.status);
      if (failure_.status == 429) retry_after_seconds = failure_.retry_after_seconds;
    } else if (token.empty() || !issued_tokens_.contains(token)) {
      call.status = 401;
      call.response = {{"message", denied_message}};
    } else {
      const std::string_view target = req.target();
      const auto question = target.find('?');
      dispatch_connector_locked(call, segments, bad_json,
                                parse_form(question == std::string_view::npos ? std::string_view{} : target.substr(question + 1)));
    }
    calls_.push_back(call);
  }
  changed_.notify_all();
  return json_response(static_cast<unsigned>(call.status), call.response, req, retry_after_seconds);
}

const team_member* fake_teams::impl::member_locked(const std::string& id) const {
  for (const auto& member : members_) {
    if (member.chat_id == id || member.object_id == id || (!member.upn.empty() && member.upn == id)) return &member;
  }
  return nullptr;
}

json member_json(const team_member& member, const std::string& tenant) {
  const auto space = member.name.find(' ');
  return {{"id", member.chat_id},
          {"name", member.name},
          {"objectId", member.object_id},
          {"givenName", member.name.substr(0, space)},
          {"surname", space == std::string::npos ? "" : member.name.substr(space + 1)},
          {"email", member.email},
          {"userPrincipalName", member.upn},
          {"tenantId", tenant},
          {"userRole", "user"}};
}

// GET /v3/conversations/{id}/pagedmembers?pageSize=&continuationToken= and …/members/{member}.
void fake_teams::impl::answer_members_locked(connector_call& call, const std::vector<std::string>& segments,
                                             const json& query) {
  if (segments[3] == "members") {
    if (const auto* member = member_locked(segments[4])) {
      call.status = 200;
      call.response = member_json(*member, owner_.tenant_id());
    } else {
      call.status = 404;
      call.response = connector_error("MemberNotFoundInConversation", "The member is not in the conversation.");
    }
    return;
  }
  std::size_t start = 0;
  if (query.contains("continuationToken")) start = std::stoul(query["continuationToken"].get<std::string>().substr(5));
  std::size_t size = static_cast<std::size_t>(roster_page_size_);
  if (query.contains("pageSize")) size = std::min(size, std::stoul(query["pageSize"].get<std::string>()));
  json page = json::array();
  for (std::size_t i = start; i < members_.size() && i < start + size; ++i) {
    page.push_back(member_json(members_[i], owner_.tenant_id()));
  }
  call.status = 200;
  call.response = {{"members", page}};
  if (start + size < members_.size()) call.response["continuationToken"] = "page-" + std::to_string(start + size);
}

void fake_teams::impl::dispatch_connector_locked(connector_call& call, const std::vector<std::string>& segments,
                                                 bool bad_json, const json& query) {
  const auto answer_with = [&call](int status, json body) {
    call.status = status;
    call.response = std::move(body);
  };
  const bool roster = segments.size() >= 4 && segments[0] == "v3" && segments[1] == "conversations" &&
                      ((segments.size() == 4 && segments[3] == "pagedmembers") ||
                       (segments.size() == 5 && segments[3] == "members"));
  if (roster) {
    if (call.method != "GET") return answer_with(405, connector_error("MethodNotAllowed", "The method is not allowed here."));
    return answer_members_locked(call, segments, query);
  }
  const bool conversations = segments.size() >= 2 && segments[0] == "v3" && segments[1] == "conversations";
  const bool activities = conversations && segments.size() >= 4 && segments.size() <= 5 && !segments[2].empty() &&
                          segments[3] == "activities" && (segments.size() == 4 || !segments[4].empty());
  if (!conversations || (segments.size() > 2 && !activities)) {
    return answer_with(404, connector_error("NotFound", "No such connector route: " + call.path));
  }
  const bool create = segments.size() == 2;
  const bool update = segments.size() == 5 && call.method == "PUT";
  if (call.method != "POST" && !update) {
    return answer_with(405, connector_error("MethodNotAllowed", "The method is not allowed here."));
  }
  if (bad_json) return answer_with(400, connector_error("BadSyntax", "The request body is not valid JSON."));
  if (!call.body.is_object()) return answer_with(400, connector_error("BadArgument", "A JSON object is required."));

  if (create) {
    const std::string member = string_at(call.body, json::json_pointer("/members/0/id"));
    if (member.empty()) return answer_with(400, connector_error("BadArgument", "members[0].id is required."));
    const std::string tenant = string_at(call.body, json::json_pointer("/channelData/tenant/id"));
    if (tenant != owner_.tenant_id()) {
      return answer_with(400, connector_error("BadArgument", "channelData.tenant.id must name the tenant."));
    }
    if (const auto* known = member_locked(member); known != nullptr && !known->reachable) {
      return answer_with(403, connector_error("Forbidden", "The bot is not installed for the user."));
    }
    return answer_with(200, {{"id", "a:conv-" + member}});
  }
  if (string_at(call.body, json::json_pointer("/type")).empty()) {
    return answer_with(400, connector_error("BadArgument", "The activity has no type."));
  }
  if (update) return answer_with(200, {{"id", segments[4]}});
  answer_with(200, {{"id", fresh_activity_id_locked()}});  // send, or reply to segments[4]
}

// Teams' activity ids in a chat are millisecond timestamps; these strictly increase.
std::string fake_teams::impl::fresh_activity_id_locked() {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  last_activity_millis_ = std::max(now, last_activity_millis_ + 1);
  return std::to_string(last_activity_millis_);
}

std::string fake_teams::impl::fresh_activity_id() {
  std::lock_guard lock(mutex_);
  return fresh_activity_id_locked();
}

json fake_teams::impl::from_of(const std::string& object_id) const {
  std::lock_guard lock(mutex_);
  if (const auto* member = member_locked(object_id)) {
    return {{"id", member->chat_id}, {"name", member->name}, {"aadObjectId", member->object_id}};
  }
  return {{"id", "29:" + object_id}, {"name", object_id}, {"aadObjectId", object_id}};
}

json fake_teams::impl::activity_base(const std::string& type, const std::string& id, const std::string& user_aad_id,
                                     bool personal) const {
  const fake_teams& teams = owner_;
  json conversation = {{"id", personal ? "a:conv-29:" + user_aad_id : "19:channel@thread.tacv2;messageid=1"},
                       {"conversationType", personal ? "personal" : "channel"},
                       {"tenantId", teams.tenant_id()}};
  json channel_data = {{"tenant", {{"id", teams.tenant_id()}}}};
  if (!personal) {
    conversation["isGroup"] = true;
    channel_data["teamsChannelId"] = "19:channel@thread.tacv2";
    channel_data["teamsTeamId"] = "19:team@thread.tacv2";
    channel_data["channel"] = {{"id", "19:channel@thread.tacv2"}};
    channel_data["team"] = {{"id", "19:team@thread.tacv2"}};
  }
  return {{"type", type},
          {"id", id},
          {"timestamp", iso_timestamp(std::chrono::system_clock::now())},
          {"serviceUrl", teams.service_url()},
          {"channelId", "msteams"},
          {"from", from_of(user_aad_id)},
          {"conversation", std::move(conversation)},
          {"recipient", {{"id", "28:" + teams.app_id()}, {"name", bot_name}}},
          {"locale", "en-US"},
          {"channelData", std::move(channel_data)}};
}

// ---------------------------------------------------------------------------------------------
// fake_teams

fake_teams::fake_teams() : impl_(std::make_unique<impl>(*this)) {}

fake_teams::~fake_teams() = default;

std::string fake_teams::base_url() const { return impl_->base_url(); }

std::string fake_teams::openid_metadata_url() const { return base_url() + metadata_path; }

std::string fake_teams::token_url() const { return base_url() + "/" + tenant_id() + "/oauth2/v2.0/token"; }

std::string fake_teams::service_url() const { return base_url() + connector_prefix; }

std::string fake_teams::ca_file() const { return impl_->ca_.ca_file(); }

jwt_minter& fake_teams::signer() {
  std::lock_guard lock(impl_->mutex_);
  return *impl_->signer_;
}

void fake_teams::rotate_key(const std::string& new_kid) {
  auto key = std::make_unique<jwt_minter>(new_kid);  // slow: made outside the lock
  std::lock_guard lock(impl_->mutex_);
  for (const auto& published : impl_->keys_) {
    if (published->kid() == new_kid) throw std::invalid_argument("rotate_key: kid already published: " + new_kid);
  }
  impl_->signer_ = key.get();
  impl_->keys_.push_back(std::move(key));
}

int fake_teams::jwks_fetches() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->jwks_fetches_;
}

int fake_teams::token_requests() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->token_requests_;
}

std::string fake_teams::last_issued_token() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->last_issued_token_;
}

std::vector<connector_call> fake_teams::calls() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->calls_;
}

std::optional<connector_call> fake_teams::wait_for_call(const std::function<bool(const connector_call&)>& match,
                                                        std::chrono::milliseconds timeout) {
  // `match` runs without the lock held, so it may call back into the fake.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t seen = 0;
  for (;;) {
    std::vector<connector_call> fresh;
    {
      std::unique_lock lock(impl_->mutex_);
      if (!impl_->changed_.wait_until(lock, deadline, [&] { return impl_->calls_.size() > seen; })) {
        return std::nullopt;
      }
      fresh.assign(impl_->calls_.begin() + static_cast<std::ptrdiff_t>(seen), impl_->calls_.end());
      seen = impl_->calls_.size();
    }
    for (connector_call& call : fresh) {
      if (!match || match(call)) return std::move(call);
    }
  }
}

void fake_teams::fail_next_calls(int status, int times, int retry_after_seconds, const std::string& path_contains) {
  if (status < 100 || status > 599) throw std::invalid_argument("fail_next_calls: not an HTTP status");
  std::lock_guard lock(impl_->mutex_);
  impl_->failure_ = impl::failure{status, std::max(times, 0), retry_after_seconds, path_contains};
}

http_answer fake_teams::post_activity(const std::string& endpoint, const nlohmann::json& activity,
                                      const std::string& token) {
  const url_parts where = split_url(endpoint);
  const std::string bearer = token.empty() ? signer().token(app_id(), service_url()) : token;
  const bool default_port = where.port == (where.tls ? "443" : "80");
  const std::string host = where.host.find(':') != std::string::npos ? "[" + where.host + "]" : where.host;

  request req{http::verb::post, where.target, 11};
  req.set(http::field::host, default_port ? host : host + ":" + where.port);
  req.set(http::field::user_agent, "Microsoft-SkypeBotApi (Microsoft-BotFramework 3.0)");
  req.set(http::field::authorization, "Bearer " + bearer);
  req.set(http::field::content_type, "application/json; charset=utf-8");
  req.keep_alive(false);
  req.body() = activity.dump(-1, ' ', false, json::error_handler_t::replace);
  req.prepare_payload();
  return send_once(where, req, impl_->ca_.ca_pem());
}

nlohmann::json fake_teams::message_activity(const std::string& user_aad_id, const std::string& text, bool personal,
                                            const std::string& activity_id) const {
  json activity = impl_->activity_base("message", activity_id.empty() ? impl_->fresh_activity_id() : activity_id,
                                       user_aad_id, personal);
  activity["text"] = text;
  activity["textFormat"] = "plain";
  json entities = json::array();
  const std::string mention = "<at>" + bot_name + "</at>";
  if (text.find(mention) != std::string::npos) {
    entities.push_back({{"type", "mention"},
                        {"text", mention},
                        {"mentioned", {{"id", "28:" + app_id()}, {"name", bot_name}}}});
  }
  entities.push_back({{"type", "clientInfo"}, {"locale", "en-US"}, {"country", "US"}, {"platform", "Web"}});
  activity["entities"] = std::move(entities);
  return activity;
}

nlohmann::json fake_teams::card_action_activity(const std::string& user_aad_id, const std::string& verb,
                                                const std::string& request, const std::string& reply_to_id) const {
  json activity = impl_->activity_base("invoke", impl_->fresh_activity_id(), user_aad_id, true);
  activity["name"] = "adaptiveCard/action";
  activity["replyToId"] = reply_to_id;
  activity["value"] = {
      {"action", {{"type", "Action.Execute"}, {"verb", verb}, {"data", {{"request", request}}}}},
      {"trigger", "manual"}};
  return activity;
}

void fake_teams::add_member(const team_member& member) {
  std::lock_guard lock(impl_->mutex_);
  impl_->members_.push_back(member);
}

void fake_teams::remove_member(const std::string& object_id) {
  std::lock_guard lock(impl_->mutex_);
  std::erase_if(impl_->members_, [&](const team_member& member) { return member.object_id == object_id; });
}

void fake_teams::set_reachable(const std::string& object_id, bool reachable) {
  std::lock_guard lock(impl_->mutex_);
  for (auto& member : impl_->members_) {
    if (member.object_id == object_id) member.reachable = reachable;
  }
}

void fake_teams::set_roster_page_size(int size) {
  std::lock_guard lock(impl_->mutex_);
  impl_->roster_page_size_ = std::max(size, 1);
}

std::string fake_teams::chat_id_of(const std::string& object_id) const {
  return impl_->from_of(object_id)["id"].get<std::string>();
}

nlohmann::json fake_teams::mention(nlohmann::json activity, const std::string& object_id) const {
  const auto from = impl_->from_of(object_id);
  const std::string name = from["name"];
  const std::string text = "<at>" + name + "</at>";
  activity["text"] = activity.value("text", std::string{}) + " " + text;
  activity["entities"].push_back({{"type", "mention"}, {"text", text}, {"mentioned", {{"id", from["id"]}, {"name", name}}}});
  return activity;
}

namespace {

json channel_update(const fake_teams& teams, const json& base) {
  json update = base;
  update["type"] = "conversationUpdate";
  update["conversation"]["id"] = "19:channel@thread.tacv2";
  update.erase("text");
  update.erase("entities");
  (void)teams;
  return update;
}

}  // namespace

nlohmann::json fake_teams::bot_added_to_team() const {
  auto update = channel_update(*this, impl_->activity_base("conversationUpdate", impl_->fresh_activity_id(), "team-owner-aad", false));
  update["membersAdded"] = json::array({{{"id", "28:" + app_id()}}});
  update["channelData"]["eventType"] = "teamMemberAdded";
  return update;
}

nlohmann::json fake_teams::members_added(const std::vector<std::string>& object_ids) const {
  auto update = channel_update(*this, impl_->activity_base("conversationUpdate", impl_->fresh_activity_id(), "team-owner-aad", false));
  json added = json::array();
  for (const auto& id : object_ids) {
    const auto from = impl_->from_of(id);
    added.push_back({{"id", from["id"]}, {"aadObjectId", id}});
  }
  update["membersAdded"] = std::move(added);
  update["channelData"]["eventType"] = "teamMemberAdded";
  return update;
}

nlohmann::json fake_teams::member_removed(const std::string& object_id) const {
  auto update = channel_update(*this, impl_->activity_base("conversationUpdate", impl_->fresh_activity_id(), "team-owner-aad", false));
  const auto from = impl_->from_of(object_id);
  update["membersRemoved"] = json::array({{{"id", from["id"]}, {"aadObjectId", object_id}}});
  update["channelData"]["eventType"] = "teamMemberRemoved";
  return update;
}

nlohmann::json fake_teams::installation_update(const std::string& action) const {
  auto update = channel_update(*this, impl_->activity_base("installationUpdate", impl_->fresh_activity_id(), "team-owner-aad", false));
  update["type"] = "installationUpdate";
  update["action"] = action;
  return update;
}

}  // namespace releasebot::testing
