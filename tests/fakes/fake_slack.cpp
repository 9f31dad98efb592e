// The fake Slack: one TLS port on 127.0.0.1 serving both the Web API (HTTPS, keep-alive) and
// Socket Mode (TLS WebSockets on /link/?ticket=N). Everything on the wire runs on one thread with
// its own io_context, so connection state needs no locking; what the test thread reads or sets
// (calls, acks, counters, misbehaviour) lives under one mutex, and what the test thread does to a
// connection is posted to the server thread and waited for.
#include "tests/fakes/fake_slack.hpp"

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
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

namespace releasebot::testing {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using ws_stream = websocket::stream<tls_stream>;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

constexpr std::size_t body_limit = 1024 * 1024;
constexpr std::uint32_t header_limit = 64 * 1024;
constexpr auto handshake_timeout = std::chrono::seconds(10);  // TLS, first request, WebSocket accept
constexpr auto idle_timeout = std::chrono::seconds(30);       // between keep-alive requests
constexpr auto write_timeout = std::chrono::seconds(10);
constexpr auto tls_shutdown_timeout = std::chrono::seconds(1);
constexpr auto disconnect_close_delay = std::chrono::seconds(10);  // Slack closes ~10 s after "disconnect"
constexpr auto graceful_stop_timeout = std::chrono::milliseconds(500);
constexpr auto apply_timeout = std::chrono::seconds(5);

const std::string team_id = "TFAKE";
const std::string app_id = "AFAKE";

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

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
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
      const std::string key = url_decode(pair.substr(0, equals));
      fields[key] = equals == std::string_view::npos ? std::string() : url_decode(pair.substr(equals + 1));
    }
    start = end + 1;
  }
  return fields;
}

// A string field of a request body: strings as they are, other values as JSON text, "" if absent.
std::string field(const json& body, const char* name) {
  if (!body.is_object()) return {};
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

json error_answer(const std::string& error) { return {{"ok", false}, {"error", error}}; }

response json_response(http::status status, const json& body, const request& req, int retry_after_seconds = 0) {
  response res{status, req.version()};
  res.set(http::field::server, "fake-slack");
  res.set(http::field::content_type, "application/json; charset=utf-8");
  if (retry_after_seconds > 0) res.set(http::field::retry_after, std::to_string(retry_after_seconds));
  res.keep_alive(req.keep_alive());
  res.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct fake_slack::impl {
  class ws_session;
  struct http_connection {
    http_connection(tcp::socket socket, ssl::context& context) : stream(std::move(socket), context) {}
    tls_stream stream;
  };
  struct limit {
    int times = 0;
    int retry_after_seconds = 0;
  };

  impl();
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // ---- server thread
  void run();
  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(tcp::socket socket);
  response answer_api(const request& req);
  json dispatch_locked(const api_call& call);
  bool take_ticket(std::string_view target);
  std::shared_ptr<ws_session> pick(int connection) const;
  void shut_down();
  int on_ws_open(const std::shared_ptr<ws_session>& session);
  void on_hello();
  void on_ws_closed();
  void on_frame(const std::string& text);

  // ---- any thread
  // Runs `action` on connection `connection` (0 = newest open) on the server thread and waits for it.
  void apply(int connection, std::function<void(ws_session&)> action);
  std::string next_ts_locked();
  std::string next_ts();
  std::string fresh_uuid();
  std::string fresh_event_id();
  std::string fresh_trigger_id();
  std::string fresh_response_url(const std::string& kind);

  test_ca ca_;
  ssl::context ssl_context_{ssl::context::tls_server};

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // guarded by mutex_
  std::vector<api_call> calls_;
  std::map<std::string, std::vector<json>> acks_;
  std::map<std::string, std::chrono::steady_clock::time_point> sent_at_;   // first hand-over per envelope
  std::map<std::string, std::chrono::steady_clock::time_point> acked_at_;  // first ack per envelope
  std::vector<json> other_frames_;
  int hello_count_ = 0;
  int open_count_ = 0;
  int next_ticket_ = 1;
  std::set<int> tickets_;  // handed out, not used yet
  std::map<std::string, limit> rate_limits_;
  std::map<std::string, int> server_errors_;
  std::string auth_error_;
  std::map<std::string, std::string> time_zones_;
  std::map<std::string, std::vector<json>> posted_;  // channel → messages posted in it, oldest first
  std::int64_t last_ts_micros_ = 0;
  std::mt19937_64 random_{std::random_device{}()};
  bool run_done_ = false;

  // server thread only (and the destructor once the thread is gone)
  std::vector<std::shared_ptr<ws_session>> sessions_;  // accepted WebSockets, in order
  std::vector<std::weak_ptr<ws_session>> all_ws_;      // including those still in the handshake
  std::vector<std::weak_ptr<http_connection>> http_connections_;
  bool stopping_ = false;

  // Declared last so that sockets are gone before the context and the context before the state.
  net::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  unsigned short port_ = 0;
  std::thread thread_;
};

// One Socket Mode connection. Lives on the server thread; writes go through a queue so that at
// most one is in flight.
class fake_slack::impl::ws_session : public std::enable_shared_from_this<ws_session> {
public:
  ws_session(impl& server, tls_stream&& stream) : server_(server), ws_(std::move(stream)), close_timer_(ioc()) {}

  void start(request req);
  void send_text(std::string text) { enqueue(kind::text, std::move(text)); }
  void send_disconnect(std::string text);
  void drop();
  void reset();
  void go_silent();
  void shut_down();
  bool closed() const { return closed_; }

private:
  enum class kind { text, hello, close };
  struct item {
    kind what;
    std::string text;
  };

  net::io_context& ioc() { return server_.ioc_; }
  void on_accept(beast::error_code ec);
  void read();
  void on_read(beast::error_code ec);
  void enqueue(kind what, std::string text);
  void write_next();
  void on_write(beast::error_code ec);
  void drain();
  void close_socket();
  void mark_closed();

  impl& server_;
  ws_stream ws_;
  request request_;
  beast::flat_buffer buffer_;
  std::array<char, 4096> drain_buffer_{};
  std::deque<item> queue_;
  net::steady_timer close_timer_;
  bool writing_ = false;
  bool silent_ = false;
  bool drop_pending_ = false;
  bool opened_ = false;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------------
// ws_session

void fake_slack::impl::ws_session::start(request req) {
  if (server_.stopping_) return;
  std::erase_if(server_.all_ws_, [](const std::weak_ptr<ws_session>& weak) { return weak.expired(); });
  server_.all_ws_.push_back(weak_from_this());
  request_ = std::move(req);
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = handshake_timeout;
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "fake-slack"); }));
  ws_.read_message_max(body_limit);
  beast::get_lowest_layer(ws_).expires_never();
  ws_.async_accept(request_, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
}

void fake_slack::impl::ws_session::on_accept(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    close_socket();
    mark_closed();
    return;
  }
  opened_ = true;
  const int open = server_.on_ws_open(shared_from_this());
  const json hello = {{"type", "hello"},
                      {"num_connections", open},
                      {"debug_info", {{"host", "fake"}}},
                      {"connection_info", {{"app_id", app_id}}}};
  enqueue(kind::hello, hello.dump());
  read();
}

void fake_slack::impl::ws_session::read() {
  ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void fake_slack::impl::ws_session::on_read(beast::error_code ec) {
  if (closed_) return;
  if (!ec) {
    server_.on_frame(beast::buffers_to_string(buffer_.data()));
    buffer_.consume(buffer_.size());
  }
  if (silent_) {
    drain();  // the read was cancelled (or finished just before): from now on, nothing is answered
    return;
  }
  if (ec) {
    close_socket();
    mark_closed();
    return;
  }
  read();
}

// Reads and discards TLS data without looking at WebSocket frames, so pings go unanswered but a
// close by the peer is still noticed.
void fake_slack::impl::ws_session::drain() {
  ws_.next_layer().async_read_some(net::buffer(drain_buffer_),
                                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (self->closed_) return;
                                     if (ec) {
                                       self->close_socket();
                                       self->mark_closed();
                                       return;
                                     }
                                     self->drain();
                                   });
}

void fake_slack::impl::ws_session::enqueue(kind what, std::string text) {
  if (closed_ || silent_ || drop_pending_ || !opened_) return;
  queue_.push_back(item{what, std::move(text)});
  if (!writing_) write_next();
}

void fake_slack::impl::ws_session::write_next() {
  writing_ = true;
  const item& next = queue_.front();
  if (next.what == kind::close) {
    ws_.async_close(websocket::close_code::normal,
                    [self = shared_from_this()](beast::error_code ec) { self->on_write(ec); });
    return;
  }
  ws_.text(true);
  ws_.async_write(net::buffer(next.text),
                  [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
}

void fake_slack::impl::ws_session::on_write(beast::error_code ec) {
  const kind done = queue_.front().what;
  queue_.pop_front();
  writing_ = false;
  if (closed_ || silent_) {
    queue_.clear();
    return;
  }
  if (ec) {
    queue_.clear();
    close_socket();
    mark_closed();
    return;
  }
  if (done == kind::hello) server_.on_hello();
  if (done == kind::close) {  // the closing handshake is done and the socket torn down
    queue_.clear();
    close_socket();
    mark_closed();
    return;
  }
  if (!queue_.empty()) {
    write_next();
  } else if (drop_pending_) {
    close_socket();
    mark_closed();
  }
}

void fake_slack::impl::ws_session::send_disconnect(std::string text) {
  if (closed_ || silent_ || drop_pending_) return;
  enqueue(kind::text, std::move(text));
  close_timer_.expires_after(disconnect_close_delay);
  close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->enqueue(kind::close, {});
  });
}

void fake_slack::impl::ws_session::drop() {
  if (closed_) return;
  if (writing_ && !silent_) {
    drop_pending_ = true;  // after what was sent before the drop has gone out
    return;
  }
  close_socket();
  mark_closed();
}

void fake_slack::impl::ws_session::reset() {
  if (closed_) return;
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().set_option(net::socket_base::linger(true, 0), ignored);
  close_socket();
  mark_closed();
}

void fake_slack::impl::ws_session::go_silent() {
  if (closed_ || silent_) return;
  silent_ = true;
  // The item in flight (if any) owns the buffer being written; everything after it is dropped.
  if (writing_) {
    queue_.erase(std::next(queue_.begin()), queue_.end());
  } else {
    queue_.clear();
  }
  close_timer_.cancel();
  beast::get_lowest_layer(ws_).cancel();  // the pending read ends; on_read switches to drain()
}

void fake_slack::impl::ws_session::shut_down() {
  close_socket();
  mark_closed();
}

void fake_slack::impl::ws_session::close_socket() {
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);  // abrupt: no close frame, no TLS close_notify
}

void fake_slack::impl::ws_session::mark_closed() {
  if (closed_) return;
  closed_ = true;
  close_timer_.cancel();
  if (opened_) server_.on_ws_closed();
}

// ---------------------------------------------------------------------------------------------
// impl: lifetime

fake_slack::impl::impl() {
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

fake_slack::impl::~impl() {
  // Close everything on the server thread and let run() return by itself; stop it if that is slow.
  net::post(ioc_, [this] { shut_down(); });
  bool done = false;
  {
    std::unique_lock lock(mutex_);
    done = changed_.wait_for(lock, graceful_stop_timeout, [this] { return run_done_; });
  }
  if (!done) ioc_.stop();
  thread_.join();
  // Sockets must go before the io_context; handlers still queued in it are destroyed with it.
  sessions_.clear();
  all_ws_.clear();
  http_connections_.clear();
}

void fake_slack::impl::run() {
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

void fake_slack::impl::shut_down() {
  stopping_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  for (const auto& weak : all_ws_) {
    if (const auto session = weak.lock()) session->shut_down();
  }
  for (const auto& weak : http_connections_) {
    if (const auto connection = weak.lock()) beast::get_lowest_layer(connection->stream).close();
  }
}

// ---------------------------------------------------------------------------------------------
// impl: connections

net::awaitable<void> fake_slack::impl::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (stopping_ || !acceptor_.is_open()) co_return;
    if (ec) {
      net::steady_timer pause(ioc_, std::chrono::milliseconds(10));  // e.g. out of descriptors
      co_await pause.async_wait(use_tuple);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // small frames go out at once
    net::co_spawn(ioc_, serve(std::move(socket)), net::detached);
  }
}

net::awaitable<void> fake_slack::impl::serve(tcp::socket socket) {
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
      const response res = json_response(http::status::payload_too_large, error_answer("request_too_large"), too_big);
      tcp_layer.expires_after(write_timeout);
      co_await http::async_write(stream, res, use_tuple);
      break;
    }
    if (read_error) co_return;  // closed by the client, idle, or garbage

    request req = parser.release();
    if (websocket::is_upgrade(req)) {
      if (take_ticket(req.target())) {
        const auto session = std::make_shared<ws_session>(*this, std::move(stream));
        connection.reset();  // its stream is moved from: nothing left to close
        session->start(std::move(req));
        co_return;
      }
      req.keep_alive(false);
      const response res = json_response(http::status::forbidden, error_answer("invalid_ticket"), req);
      tcp_layer.expires_after(write_timeout);
      co_await http::async_write(stream, res, use_tuple);
      break;
    }

    const response res = answer_api(req);
    tcp_layer.expires_after(write_timeout);
    const auto [write_error, write_size] = co_await http::async_write(stream, res, use_tuple);
    static_cast<void>(write_size);
    if (write_error) co_return;
    if (!res.keep_alive()) break;
  }
  tcp_layer.expires_after(tls_shutdown_timeout);
  co_await stream.async_shutdown(use_tuple);
}

bool fake_slack::impl::take_ticket(std::string_view target) {
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  if ((path != "/link/" && path != "/link") || question == std::string_view::npos) return false;
  const std::string ticket = field(parse_form(target.substr(question + 1)), "ticket");
  int number = 0;
  const auto [end, error] = std::from_chars(ticket.data(), ticket.data() + ticket.size(), number);
  if (error != std::errc() || end != ticket.data() + ticket.size()) return false;
  std::lock_guard lock(mutex_);
  return tickets_.erase(number) == 1;
}

std::shared_ptr<fake_slack::impl::ws_session> fake_slack::impl::pick(int connection) const {
  if (connection <= 0) {
    for (auto it = sessions_.rbegin(); it != sessions_.rend(); ++it) {
      if (!(*it)->closed()) return *it;
    }
    return nullptr;
  }
  if (static_cast<std::size_t>(connection) > sessions_.size()) return nullptr;
  return sessions_[static_cast<std::size_t>(connection) - 1];
}

int fake_slack::impl::on_ws_open(const std::shared_ptr<ws_session>& session) {
  sessions_.push_back(session);
  std::lock_guard lock(mutex_);
  return ++open_count_;
}

void fake_slack::impl::on_hello() {
  {
    std::lock_guard lock(mutex_);
    ++hello_count_;
  }
  changed_.notify_all();
}

void fake_slack::impl::on_ws_closed() {
  {
    std::lock_guard lock(mutex_);
    --open_count_;
  }
  changed_.notify_all();
}

void fake_slack::impl::on_frame(const std::string& text) {
  const auto arrived = std::chrono::steady_clock::now();
  json frame = json::parse(text, nullptr, false);
  if (frame.is_discarded()) frame = text;  // not JSON: kept as a string
  {
    std::lock_guard lock(mutex_);
    if (frame.is_object() && frame.contains("envelope_id") && frame["envelope_id"].is_string()) {
      std::string id = frame["envelope_id"].get<std::string>();
      acked_at_.try_emplace(id, arrived);
      acks_[std::move(id)].push_back(std::move(frame));
    } else {
      other_frames_.push_back(std::move(frame));
    }
  }
  changed_.notify_all();
}

void fake_slack::impl::apply(int connection, std::function<void(ws_session&)> action) {
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> applied = done->get_future();
  net::post(ioc_, [this, connection, action = std::move(action), done] {
    if (const auto session = pick(connection)) action(*session);
    done->set_value();
  });
  applied.wait_for(apply_timeout);
}

// ---------------------------------------------------------------------------------------------
// impl: Web API

response fake_slack::impl::answer_api(const request& req) {
  std::string_view target = req.target();
  std::string_view query;
  if (const std::size_t question = target.find('?'); question != std::string_view::npos) {
    query = target.substr(question + 1);
    target = target.substr(0, question);
  }
  constexpr std::string_view prefix = "/api/";
  if (!target.starts_with(prefix) || target.size() == prefix.size()) {
    return json_response(http::status::not_found, error_answer("not_found"), req);
  }

  api_call call;
  call.method = std::string(target.substr(prefix.size()));
  call.authorization = std::string(req[http::field::authorization]);
  call.content_type = std::string(req[http::field::content_type]);
  call.at = std::chrono::steady_clock::now();
  call.body = parse_form(query);
  bool invalid_json = false;
  if (lowercase(call.content_type).starts_with("application/json")) {
    json parsed = json::parse(req.body(), nullptr, false);
    if (parsed.is_discarded()) {
      invalid_json = true;
    } else if (parsed.is_object()) {
      call.body.update(parsed);
    } else {
      call.body = std::move(parsed);
    }
  } else if (!req.body().empty()) {
    call.body.update(parse_form(req.body()));  // form-encoded (Slack's default without a type)
  }

  http::status status = http::status::ok;
  int retry_after_seconds = 0;
  {
    std::lock_guard lock(mutex_);
    if (auto limited = rate_limits_.find(call.method); limited != rate_limits_.end() && limited->second.times > 0) {
      --limited->second.times;
      status = http::status::too_many_requests;
      retry_after_seconds = limited->second.retry_after_seconds;
      call.response = error_answer("ratelimited");
    } else if (auto failing = server_errors_.find(call.method);
               failing != server_errors_.end() && failing->second > 0) {
      --failing->second;
      status = http::status::service_unavailable;
      call.response = error_answer("service_unavailable");
    } else if (invalid_json) {
      call.response = error_answer("invalid_json");
    } else {
      call.response = dispatch_locked(call);
    }
    call.status = static_cast<int>(status);
    calls_.push_back(call);
  }
  changed_.notify_all();
  return json_response(status, call.response, req, retry_after_seconds);
}

json fake_slack::impl::dispatch_locked(const api_call& call) {
  const std::string& method = call.method;
  const json& body = call.body;

  if (method == "apps.connections.open") {
    if (call.authorization != "Bearer xapp-1-test") return error_answer("invalid_auth");
    if (!auth_error_.empty()) return error_answer(auth_error_);
    const int ticket = next_ticket_++;
    tickets_.insert(ticket);
    return {{"ok", true},
            {"url", "wss://127.0.0.1:" + std::to_string(port_) + "/link/?ticket=" + std::to_string(ticket)}};
  }
  if (call.authorization != "Bearer xoxb-test") return error_answer("invalid_auth");

  if (method == "auth.test") {
    if (!auth_error_.empty()) return error_answer(auth_error_);
    return {{"ok", true},        {"user_id", "UBOT"},   {"bot_id", "BBOT"},
            {"team_id", team_id}, {"user", "releasebot"}, {"url", "https://fake.slack.com/"}};
  }
  if (method == "chat.postMessage") {
    std::string channel = field(body, "channel");
    if (channel.empty()) return error_answer("channel_not_found");
    if (channel.starts_with('U') || channel.starts_with('W')) channel = "D" + channel;  // posting to a user: the DM
    const std::string ts = next_ts_locked();
    json message = {
        {"type", "message"}, {"user", "UBOT"}, {"bot_id", "BBOT"}, {"text", field(body, "text")}, {"ts", ts}};
    if (body.is_object() && body.contains("blocks")) message["blocks"] = body["blocks"];
    if (const auto thread = field(body, "thread_ts"); !thread.empty()) {
      message["thread_ts"] = thread;
      if (field(body, "reply_broadcast") == "true") message["subtype"] = "thread_broadcast";
    }
    json stored = message;
    if (body.is_object() && body.contains("metadata")) stored["metadata"] = body["metadata"];
    posted_[channel].push_back(std::move(stored));
    return {{"ok", true}, {"channel", channel}, {"ts", ts}, {"message", std::move(message)}};
  }
  if (method == "chat.postEphemeral") {
    if (field(body, "channel").empty()) return error_answer("channel_not_found");
    return {{"ok", true}, {"message_ts", next_ts_locked()}};
  }
  if (method == "chat.update") {
    const std::string channel = field(body, "channel");
    if (channel.empty()) return error_answer("channel_not_found");
    const std::string ts = field(body, "ts");
    if (ts.empty()) return error_answer("message_not_found");
    return {{"ok", true}, {"channel", channel}, {"ts", ts}, {"text", field(body, "text")}};
  }
  if (method == "conversations.history" || method == "conversations.replies") {
    // Newest first, after `oldest`; history shows top-level messages (and broadcast replies),
    // replies the thread of `ts`. Metadata only with include_all_metadata, as in Slack.
    const std::string channel = field(body, "channel");
    if (channel.empty()) return error_answer("channel_not_found");
    const bool replies = method == "conversations.replies";
    const std::string thread = field(body, "ts");
    if (replies && thread.empty()) return error_answer("thread_not_found");
    const std::string oldest = field(body, "oldest");
    const double oldest_seconds = oldest.empty() ? 0.0 : std::stod(oldest);
    const bool with_metadata = field(body, "include_all_metadata") == "true";
    json messages = json::array();
    const auto found = posted_.find(channel);
    if (found != posted_.end()) {
      for (auto it = found->second.rbegin(); it != found->second.rend(); ++it) {
        const json& posted = *it;
        const std::string ts = posted.value("ts", std::string{});
        if (std::stod(ts) < oldest_seconds) continue;
        const std::string in_thread = posted.value("thread_ts", std::string{});
        if (replies ? (ts != thread && in_thread != thread)
                    : (!in_thread.empty() && posted.value("subtype", std::string{}) != "thread_broadcast")) {
          continue;
        }
        json shown = posted;
        if (!with_metadata) shown.erase("metadata");
        messages.push_back(std::move(shown));
      }
    }
    return {{"ok", true}, {"messages", std::move(messages)}, {"has_more", false}, {"response_metadata", {{"next_cursor", ""}}}};
  }
  if (method == "conversations.open") {
    const std::string users = field(body, "users");
    if (users.empty()) return error_answer("users_list_not_supplied");
    return {{"ok", true}, {"channel", {{"id", "D" + users}}}};
  }
  if (method == "users.info") {
    const std::string user = field(body, "user");
    if (user.empty()) return error_answer("user_not_found");
    const auto tz = time_zones_.find(user);
    return {{"ok", true},
            {"user",
             {{"id", user},
              {"team_id", team_id},
              {"name", lowercase(user)},
              {"real_name", "User " + user},
              {"profile",
               {{"display_name", ""}, {"real_name", "User " + user}, {"email", lowercase(user) + "@example.com"}}},
              {"tz", tz != time_zones_.end() ? tz->second : std::string("UTC")},
              {"tz_offset", 0},
              {"is_bot", false}}}};
  }
  return error_answer("unknown_method");
}

// "<seconds>.<6 digits>", strictly increasing across everything this fake stamps.
std::string fake_slack::impl::next_ts_locked() {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  last_ts_micros_ = std::max(now, last_ts_micros_ + 1);
  std::string micros = std::to_string(last_ts_micros_ % 1'000'000);
  micros.insert(0, 6 - micros.size(), '0');
  return std::to_string(last_ts_micros_ / 1'000'000) + "." + micros;
}

std::string fake_slack::impl::next_ts() {
  std::lock_guard lock(mutex_);
  return next_ts_locked();
}

std::string fake_slack::impl::fresh_uuid() {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  {
    std::lock_guard lock(mutex_);
    high = random_();
    low = random_();
  }
  high = (high & ~std::uint64_t{0xF000}) | std::uint64_t{0x4000};                   // version 4
  low = (low & ~(std::uint64_t{0x3} << 62U)) | (std::uint64_t{0x2} << 62U);         // RFC 4122 variant
  constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (int shift = 60; shift >= 0; shift -= 4) hex += digits[(high >> static_cast<unsigned>(shift)) & 0xFU];
  for (int shift = 60; shift >= 0; shift -= 4) hex += digits[(low >> static_cast<unsigned>(shift)) & 0xFU];
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

std::string fake_slack::impl::fresh_event_id() {
  constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string id = "Ev";
  std::lock_guard lock(mutex_);
  for (int i = 0; i < 10; ++i) id += alphabet[random_() % (sizeof alphabet - 1)];
  return id;
}

std::string fake_slack::impl::fresh_trigger_id() {
  std::lock_guard lock(mutex_);
  return std::to_string(1'000'000'000 + random_() % 9'000'000'000) + "." +
         std::to_string(1'000'000'000 + random_() % 9'000'000'000) + "." + std::to_string(random_());
}

std::string fake_slack::impl::fresh_response_url(const std::string& kind) {
  std::lock_guard lock(mutex_);
  return "https://hooks.invalid/" + kind + "/" + team_id + "/" + std::to_string(random_() % 10'000'000'000) + "/" +
         std::to_string(random_());
}

// ---------------------------------------------------------------------------------------------
// fake_slack

fake_slack::fake_slack() : impl_(std::make_unique<impl>()) {}

fake_slack::~fake_slack() = default;

std::string fake_slack::api_url() const { return "https://127.0.0.1:" + std::to_string(impl_->port_) + "/api/"; }

std::string fake_slack::ca_file() const { return impl_->ca_.ca_file(); }

bool fake_slack::wait_for_connections(int count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex_);
  return impl_->changed_.wait_for(lock, timeout, [&] { return impl_->hello_count_ >= count; });
}

int fake_slack::connections() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->hello_count_;
}

int fake_slack::open_connections() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->open_count_;
}

void fake_slack::send(const nlohmann::json& frame, int connection) {
  std::string envelope_id;
  if (frame.is_object() && frame.contains("envelope_id") && frame["envelope_id"].is_string()) {
    envelope_id = frame["envelope_id"].get<std::string>();
  }
  impl_->apply(connection, [this, text = frame.dump(), envelope_id](impl::ws_session& session) {
    if (!envelope_id.empty() && !session.closed()) {
      std::lock_guard lock(impl_->mutex_);
      impl_->sent_at_.try_emplace(envelope_id, std::chrono::steady_clock::now());
    }
    session.send_text(text);
  });
}

std::string fake_slack::send_slash_command(const std::string& user, const std::string& channel,
                                           const std::string& text, int retry_attempt,
                                           const std::string& envelope_id) {
  const std::string id = envelope_id.empty() ? impl_->fresh_uuid() : envelope_id;
  const json frame = {{"envelope_id", id},
                      {"type", "slash_commands"},
                      {"accepts_response_payload", true},
                      {"retry_attempt", retry_attempt},
                      {"retry_reason", retry_attempt > 0 ? "timeout" : ""},
                      {"payload",
                       {{"token", "x"},
                        {"team_id", team_id},
                        {"team_domain", "fake"},
                        {"channel_id", channel},
                        {"channel_name", "releases"},
                        {"user_id", user},
                        {"user_name", lowercase(user)},
                        {"command", "/release"},
                        {"text", text},
                        {"api_app_id", app_id},
                        {"response_url", impl_->fresh_response_url("commands")},
                        {"trigger_id", impl_->fresh_trigger_id()}}}};
  send(frame);
  return id;
}

std::string fake_slack::send_app_mention(const std::string& user, const std::string& channel,
                                         const std::string& text, const std::string& event_id, int retry_attempt,
                                         const std::string& envelope_id) {
  const std::string id = envelope_id.empty() ? impl_->fresh_uuid() : envelope_id;
  const std::string ts = impl_->next_ts();
  const json frame = {{"envelope_id", id},
                      {"type", "events_api"},
                      {"accepts_response_payload", false},
                      {"retry_attempt", retry_attempt},
                      {"retry_reason", retry_attempt > 0 ? "timeout" : ""},
                      {"payload",
                       {{"token", "x"},
                        {"team_id", team_id},
                        {"api_app_id", app_id},
                        {"type", "event_callback"},
                        {"event_id", event_id.empty() ? impl_->fresh_event_id() : event_id},
                        {"event_time", unix_seconds()},
                        {"event",
                         {{"type", "app_mention"},
                          {"user", user},
                          {"text", text},
                          {"ts", ts},
                          {"channel", channel},
                          {"event_ts", ts}}}}}};
  send(frame);
  return id;
}

std::string fake_slack::send_direct_message(const std::string& user, const std::string& text,
                                            const std::string& event_id) {
  const std::string id = impl_->fresh_uuid();
  const std::string ts = impl_->next_ts();
  const json frame = {{"envelope_id", id},
                      {"type", "events_api"},
                      {"accepts_response_payload", false},
                      {"retry_attempt", 0},
                      {"retry_reason", ""},
                      {"payload",
                       {{"token", "x"},
                        {"team_id", team_id},
                        {"api_app_id", app_id},
                        {"type", "event_callback"},
                        {"event_id", event_id.empty() ? impl_->fresh_event_id() : event_id},
                        {"event_time", unix_seconds()},
                        {"event",
                         {{"type", "message"},
                          {"channel_type", "im"},
                          {"channel", "D" + user},
                          {"user", user},
                          {"text", text},
                          {"ts", ts},
                          {"event_ts", ts}}}}}};
  send(frame);
  return id;
}

std::string fake_slack::send_button_click(const std::string& user, const std::string& action_id,
                                          const std::string& value, const std::string& channel,
                                          const std::string& message_ts, const std::string& envelope_id,
                                          int retry_attempt) {
  const std::string id = envelope_id.empty() ? impl_->fresh_uuid() : envelope_id;
  json frame = {
      {"envelope_id", id},
      {"type", "interactive"},
      {"accepts_response_payload", false},
      {"payload",
       {{"type", "block_actions"},
        {"user", {{"id", user}, {"username", lowercase(user)}, {"team_id", team_id}}},
        {"api_app_id", app_id},
        {"team", {{"id", team_id}}},
        {"container",
         {{"type", "message"}, {"message_ts", message_ts}, {"channel_id", channel}, {"is_ephemeral", false}}},
        {"channel", {{"id", channel}, {"name", "directmessage"}}},
        {"message", {{"type", "message"}, {"ts", message_ts}, {"text", "releasebot message"}}},
        {"trigger_id", impl_->fresh_trigger_id()},
        {"response_url", impl_->fresh_response_url("actions")},
        {"actions",
         json::array({{{"type", "button"},
                       {"action_id", action_id},
                       {"block_id", "b1"},
                       {"value", value},
                       {"action_ts", impl_->next_ts()}}})}}}};
  if (retry_attempt > 0) {
    frame["retry_attempt"] = retry_attempt;
    frame["retry_reason"] = "timeout";
  }
  send(frame);
  return id;
}

void fake_slack::send_disconnect(const std::string& reason, int connection) {
  const json frame = {{"type", "disconnect"}, {"reason", reason}, {"debug_info", {{"host", "fake"}}}};
  impl_->apply(connection, [text = frame.dump()](impl::ws_session& session) { session.send_disconnect(text); });
}

void fake_slack::drop_connection(int connection) {
  impl_->apply(connection, [](impl::ws_session& session) { session.drop(); });
}

void fake_slack::reset_connection(int connection) {
  impl_->apply(connection, [](impl::ws_session& session) { session.reset(); });
}

void fake_slack::go_silent(int connection) {
  impl_->apply(connection, [](impl::ws_session& session) { session.go_silent(); });
}

std::optional<nlohmann::json> fake_slack::wait_for_ack(const std::string& envelope_id,
                                                       std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex_);
  const bool acked = impl_->changed_.wait_for(lock, timeout, [&] {
    const auto it = impl_->acks_.find(envelope_id);
    return it != impl_->acks_.end() && !it->second.empty();
  });
  if (!acked) return std::nullopt;
  return impl_->acks_[envelope_id].front();
}

int fake_slack::ack_count(const std::string& envelope_id) const {
  std::lock_guard lock(impl_->mutex_);
  const auto it = impl_->acks_.find(envelope_id);
  return it == impl_->acks_.end() ? 0 : static_cast<int>(it->second.size());
}

std::optional<std::chrono::steady_clock::time_point> fake_slack::sent_time(const std::string& envelope_id) const {
  std::lock_guard lock(impl_->mutex_);
  const auto it = impl_->sent_at_.find(envelope_id);
  if (it == impl_->sent_at_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::chrono::steady_clock::time_point> fake_slack::ack_time(const std::string& envelope_id) const {
  std::lock_guard lock(impl_->mutex_);
  const auto it = impl_->acked_at_.find(envelope_id);
  if (it == impl_->acked_at_.end()) return std::nullopt;
  return it->second;
}

void fake_slack::forget_envelope(const std::string& envelope_id) {
  std::lock_guard lock(impl_->mutex_);
  impl_->acks_.erase(envelope_id);
  impl_->sent_at_.erase(envelope_id);
  impl_->acked_at_.erase(envelope_id);
}

std::vector<nlohmann::json> fake_slack::other_frames() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->other_frames_;
}

std::vector<api_call> fake_slack::calls(const std::string& method) const {
  std::lock_guard lock(impl_->mutex_);
  if (method.empty()) return impl_->calls_;
  std::vector<api_call> matching;
  for (const api_call& call : impl_->calls_) {
    if (call.method == method) matching.push_back(call);
  }
  return matching;
}

std::optional<api_call> fake_slack::wait_for_call(const std::string& method,
                                                  const std::function<bool(const api_call&)>& match,
                                                  std::chrono::milliseconds timeout) {
  // `match` runs without the lock held, so it may call back into the fake.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t seen = 0;
  for (;;) {
    std::vector<api_call> fresh;
    {
      std::unique_lock lock(impl_->mutex_);
      if (!impl_->changed_.wait_until(lock, deadline, [&] { return impl_->calls_.size() > seen; })) {
        return std::nullopt;
      }
      fresh.assign(impl_->calls_.begin() + static_cast<std::ptrdiff_t>(seen), impl_->calls_.end());
      seen = impl_->calls_.size();
    }
    for (api_call& call : fresh) {
      if ((method.empty() || call.method == method) && (!match || match(call))) return std::move(call);
    }
  }
}

void fake_slack::rate_limit(const std::string& method, int times, int retry_after_seconds) {
  std::lock_guard lock(impl_->mutex_);
  impl_->rate_limits_[method] = impl::limit{times, retry_after_seconds};
}

void fake_slack::fail_with_server_error(const std::string& method, int times) {
  std::lock_guard lock(impl_->mutex_);
  impl_->server_errors_[method] = times;
}

void fake_slack::set_auth_error(const std::string& error) {
  std::lock_guard lock(impl_->mutex_);
  impl_->auth_error_ = error;
}

void fake_slack::set_user_time_zone(const std::string& user, const std::string& tz) {
  std::lock_guard lock(impl_->mutex_);
  impl_->time_zones_[user] = tz;
}

}  // namespace releasebot::testing
