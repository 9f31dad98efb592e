#include "integrations/slack/socket_mode.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include <deque>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace releasebot::integrations::slack {

namespace {

constexpr auto handshake_timeout = std::chrono::seconds{10};
constexpr std::size_t max_frame_bytes = 1024 * 1024;

enum class connection_state { open, refresh_requested, closed };

}  // namespace

// One WebSocket to Slack, TLS or (for local fakes) plain; one reader, and one writer that sends
// queued frames in order so that writes never overlap.
class socket_mode_client::connection : public std::enable_shared_from_this<connection> {
public:
  virtual ~connection() = default;
  virtual asio::awaitable<std::pair<boost::system::error_code, std::string>> read() = 0;
  // Queues a frame; a failed write aborts the connection (the reader then sees it end).
  virtual void send(std::string text) = 0;
  virtual asio::awaitable<void> close() = 0;
  virtual void abort() = 0;

  int id = 0;
  connection_state state = connection_state::open;
  std::chrono::steady_clock::time_point last_frame = std::chrono::steady_clock::now();
  bool writing = false;
  bool close_after_write = false;
};

namespace {

template <typename Stream>
class stream_connection final : public socket_mode_client::connection {
public:
  template <typename... Args>
  explicit stream_connection(Args&&... args) : ws_{std::forward<Args>(args)...} {}

  websocket::stream<Stream>& ws() { return ws_; }

  asio::awaitable<std::pair<boost::system::error_code, std::string>> read() override {
    buffer_.clear();
    auto [error, bytes] = co_await ws_.async_read(buffer_, asio::as_tuple(asio::use_awaitable));
    (void)bytes;
    co_return std::pair{error, beast::buffers_to_string(buffer_.data())};
  }

  void send(std::string text) override {
    outgoing_.push_back(std::move(text));
    if (writing) return;
    writing = true;
    asio::co_spawn(ws_.get_executor(), write_queued(std::static_pointer_cast<stream_connection>(shared_from_this())),
                   asio::detached);
  }

  asio::awaitable<void> close() override {
    if (closing_) co_return;
    if (writing) {
      close_after_write = true;
      co_return;
    }
    closing_ = true;
    auto [error] = co_await ws_.async_close(websocket::close_code::normal, asio::as_tuple(asio::use_awaitable));
    if (error) abort();
  }

  void abort() override {
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

private:
  static asio::awaitable<void> write_queued(std::shared_ptr<stream_connection> self) {
    while (!self->outgoing_.empty() && !self->closing_) {
      const std::string text = std::move(self->outgoing_.front());
      self->outgoing_.pop_front();
      self->ws_.text(true);
      auto [error, bytes] = co_await self->ws_.async_write(asio::buffer(text), asio::as_tuple(asio::use_awaitable));
      (void)bytes;
      if (error) {
        spdlog::warn("slack: writing on connection {} failed: {}", self->id, error.message());
        self->outgoing_.clear();
        self->abort();
        break;
      }
    }
    self->writing = false;
    if (self->close_after_write) co_await self->close();
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> outgoing_;
  bool closing_ = false;
};

using tls_stream = asio::ssl::stream<beast::tcp_stream>;

websocket::stream_base::timeout timeouts(std::chrono::milliseconds idle) {
  websocket::stream_base::timeout options{};
  options.handshake_timeout = handshake_timeout;
  options.idle_timeout = idle;
  options.keep_alive_pings = true;  // ping at half the idle time; a peer that never answers times out
  return options;
}

std::string without_query(std::string_view target) { return std::string{target.substr(0, target.find('?'))}; }

}  // namespace

socket_mode_client::socket_mode_client(asio::any_io_executor executor, asio::ssl::context& tls, web_api& app_api,
                                       std::string bot_user_id, envelope_handler handler,
                                       socket_mode_settings settings)
    : executor_{executor},
      tls_{tls},
      app_api_{app_api},
      bot_user_id_{std::move(bot_user_id)},
      handler_{std::move(handler)},
      settings_{settings},
      policy_{settings.backoff},
      wake_{executor} {}

socket_mode_client::~socket_mode_client() = default;

void socket_mode_client::wake() { wake_.cancel(); }

void socket_mode_client::stop() {
  stopping_ = true;
  wake();
}

asio::awaitable<std::shared_ptr<socket_mode_client::connection>> socket_mode_client::connect_once(
    std::string& fatal_error) {
  const auto opened = co_await app_api_.call(std::string{"apps.connections.open"}, nlohmann::json::object(), false, 1);
  if (!opened.ok) {
    if (classify_slack_error(opened.error_code) == failure_kind::fatal) {
      fatal_error = "Slack refused the app token (" + opened.error + ") — check SLACK_APP_TOKEN (xapp-…) and that "
                    "Socket Mode is enabled for the app";
    } else {
      spdlog::warn("slack: {}", opened.error);
    }
    co_return nullptr;
  }
  const auto url = opened.body.value("url", std::string{});
  const auto where = net::parse_endpoint(url);
  if (!where) {
    spdlog::warn("slack: apps.connections.open gave no usable URL");
    co_return nullptr;
  }
  try {
    asio::ip::tcp::resolver resolver{executor_};
    const auto addresses = co_await resolver.async_resolve(where->host, where->port, asio::use_awaitable);
    std::shared_ptr<connection> conn;
    if (where->tls) {
      auto secure = std::make_shared<stream_connection<tls_stream>>(executor_, tls_);
      auto& ws = secure->ws();
      auto& lowest = beast::get_lowest_layer(ws);
      lowest.expires_after(handshake_timeout);
      co_await lowest.async_connect(addresses, asio::use_awaitable);
      lowest.socket().set_option(asio::ip::tcp::no_delay{true});  // each ack is one small write; no Nagle wait
      net::prepare_tls(ws.next_layer(), where->host);
      co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
      lowest.expires_never();
      ws.set_option(timeouts(settings_.idle_timeout));
      ws.read_message_max(max_frame_bytes);
      co_await ws.async_handshake(where->host, where->target, asio::use_awaitable);
      conn = secure;
    } else {
      auto plain = std::make_shared<stream_connection<beast::tcp_stream>>(executor_);
      auto& ws = plain->ws();
      auto& lowest = beast::get_lowest_layer(ws);
      lowest.expires_after(handshake_timeout);
      co_await lowest.async_connect(addresses, asio::use_awaitable);
      lowest.socket().set_option(asio::ip::tcp::no_delay{true});  // each ack is one small write; no Nagle wait
      lowest.expires_never();
      ws.set_option(timeouts(settings_.idle_timeout));
      ws.read_message_max(max_frame_bytes);
      co_await ws.async_handshake(where->host, where->target, asio::use_awaitable);
      conn = plain;
    }
    // The connection is usable only after hello.
    asio::steady_timer hello_deadline{executor_, settings_.hello_timeout};
    hello_deadline.async_wait([weak = std::weak_ptr<connection>{conn}](const boost::system::error_code& error) {
      if (auto alive = weak.lock(); !error && alive) alive->abort();
    });
    auto [error, frame] = co_await conn->read();
    hello_deadline.cancel();
    if (error) {
      spdlog::warn("slack: no hello from {}: {}", without_query(where->target), error.message());
      co_return nullptr;
    }
    const auto decoded = decode_envelope(frame, bot_user_id_);
    const auto* hello = std::get_if<envelope>(&decoded);
    if (hello == nullptr || hello->type != envelope_type::hello) {
      spdlog::warn("slack: the first frame was not hello");
      conn->abort();
      co_return nullptr;
    }
    conn->id = ++connections_made_;
    spdlog::info("slack: connection {} ready", conn->id);
    co_return conn;
  } catch (const boost::system::system_error& error) {
    spdlog::warn("slack: connecting to {} failed: {}", where->host, error.code().message());
    co_return nullptr;
  }
}

asio::awaitable<std::shared_ptr<socket_mode_client::connection>> socket_mode_client::connect_with_retries(
    std::string& fatal_error) {
  while (!stopping_) {
    auto conn = co_await connect_once(fatal_error);
    if (conn) {
      policy_.connected(reconnect_policy::clock::now());
      co_return conn;
    }
    const auto delay =
        policy_.next_delay(fatal_error.empty() ? failure_kind::transient : failure_kind::fatal, reconnect_policy::clock::now());
    if (!delay) co_return nullptr;
    spdlog::info("slack: next connection attempt in {} ms", delay->count());
    wake_.expires_after(*delay);
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return nullptr;
}

asio::awaitable<void> socket_mode_client::serve(std::shared_ptr<connection> conn) {
  while (true) {
    auto [error, frame] = co_await conn->read();
    if (error) {
      if (error != websocket::error::closed && !stopping_ && conn->state == connection_state::open) {
        spdlog::warn("slack: connection {} lost: {}", conn->id, error.message());
      }
      break;
    }
    conn->last_frame = std::chrono::steady_clock::now();
    auto decoded = decode_envelope(frame, bot_user_id_);
    if (const auto* problem = std::get_if<decode_error>(&decoded)) {
      spdlog::warn("slack: skipped a malformed frame on connection {}: {}", conn->id, problem->problem);
      continue;
    }
    auto& env = std::get<envelope>(decoded);
    if (env.type == envelope_type::hello) continue;
    if (env.type == envelope_type::disconnect) {
      if (env.disconnect_reason == "link_disabled") {
        fatal_ = "Slack disabled Socket Mode for this app (link_disabled) — enable it in the app's settings";
      } else if (conn->state == connection_state::open) {
        spdlog::info("slack: connection {} asked to refresh ({})", conn->id, env.disconnect_reason);
        conn->state = connection_state::refresh_requested;
      }
      wake();
      continue;
    }
    if (env.envelope_id.empty()) {
      spdlog::warn("slack: skipped a {} frame without envelope_id", env.type_name);
      continue;
    }
    asio::co_spawn(executor_, acknowledge(conn, std::move(env)), asio::detached);
  }
  conn->state = connection_state::closed;
  wake();
}

asio::awaitable<void> socket_mode_client::acknowledge(std::shared_ptr<connection> conn, envelope env) {
  nlohmann::json payload;
  try {
    payload = co_await handler_(env);
  } catch (const std::exception& failure) {
    // Not acked: Slack delivers it again, and the stored reply answers if it was applied.
    spdlog::error("slack: envelope {} failed: {}", env.envelope_id, failure.what());
    co_return;
  }
  if (conn->state == connection_state::closed) {
    spdlog::info("slack: connection {} ended before the ack of {}; Slack will deliver it again", conn->id, env.envelope_id);
    co_return;
  }
  nlohmann::json ack{{"envelope_id", env.envelope_id}};
  if (!payload.is_null()) ack["payload"] = std::move(payload);
  conn->send(ack.dump());
}

// Slack may still deliver on the old connection for a moment after the new one said hello; it is
// served (and its envelopes acked) until it has been quiet a while, then closed politely, unless
// Slack closes it first.
asio::awaitable<void> socket_mode_client::retire(std::shared_ptr<connection> old) {
  constexpr auto quiet_for = std::chrono::seconds{2};
  constexpr auto longest = std::chrono::seconds{30};
  const auto started = std::chrono::steady_clock::now();
  asio::steady_timer timer{executor_};
  while (old->state != connection_state::closed && !stopping_) {
    const auto now = std::chrono::steady_clock::now();
    if (now - old->last_frame >= quiet_for || now - started >= longest) break;
    timer.expires_after(quiet_for);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (old->state != connection_state::closed) co_await old->close();
}

bool socket_mode_client::connected() const {
  return active_ && active_->state != connection_state::closed;
}

asio::awaitable<std::string> socket_mode_client::run() {
  std::string fatal_error;
  while (!stopping_ && fatal_.empty()) {
    if (!active_ || active_->state == connection_state::closed) {
      if (active_) {
        // A connection that dies young must not turn into a reconnect storm.
        const auto delay = policy_.next_delay(failure_kind::transient, reconnect_policy::clock::now());
        wake_.expires_after(delay.value_or(std::chrono::milliseconds{0}));
        co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (stopping_) break;
      }
      active_ = co_await connect_with_retries(fatal_error);
      if (!active_) break;
      asio::co_spawn(executor_, serve(active_), asio::detached);
    } else if (active_->state == connection_state::refresh_requested) {
      // Open and hello the new connection before the old one goes, so nothing falls between.
      auto next = co_await connect_with_retries(fatal_error);
      if (!next) break;
      auto old = std::exchange(active_, next);
      asio::co_spawn(executor_, serve(active_), asio::detached);
      retiring_.push_back(old);
      asio::co_spawn(executor_, retire(old), asio::detached);
    }
    std::erase_if(retiring_, [](const auto& conn) { return conn->state == connection_state::closed; });
    if (active_ && active_->state == connection_state::open && !stopping_ && fatal_.empty()) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  if (active_) co_await active_->close();
  for (auto& conn : retiring_) co_await conn->close();
  if (!fatal_.empty()) co_return fatal_;
  co_return fatal_error;
}

}  // namespace releasebot::integrations::slack
