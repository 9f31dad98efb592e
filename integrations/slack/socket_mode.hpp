// The Socket Mode client: a fresh URL from apps.connections.open for every connection, TLS
// WebSocket, usable after hello, acks after the handler committed, connection refresh without a
// gap, pings to notice a silent peer, reconnects with backoff and jitter.
#pragma once

#include "integrations/slack/envelope.hpp"
#include "integrations/slack/reconnect_policy.hpp"
#include "integrations/slack/web_api.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace releasebot::integrations::slack {

struct socket_mode_settings {
  std::chrono::milliseconds idle_timeout{30'000};  // no frame or pong for this long: reconnect
  std::chrono::milliseconds hello_timeout{10'000};
  reconnect_policy::settings backoff{};
};

class socket_mode_client {
public:
  // Applies one envelope and returns the ack payload (null for a bare ack). Called once per
  // delivery, in arrival order, without waiting for earlier envelopes to finish (so that a burst
  // can share one commit); the ack goes out after it returns, on the connection it came on.
  using envelope_handler = std::function<boost::asio::awaitable<nlohmann::json>(const envelope&)>;

  socket_mode_client(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls, web_api& app_api,
                     std::string bot_user_id, envelope_handler handler, socket_mode_settings settings);
  ~socket_mode_client();

  // Runs until stop() (returns "") or a fatal error (returns what is wrong, in one line).
  boost::asio::awaitable<std::string> run();
  // Closes the connections politely; run() returns soon after.
  void stop();

  int connections_made() const { return connections_made_; }
  // A connection has said hello and not been lost since.
  bool connected() const;

  class connection;

private:
  boost::asio::awaitable<std::shared_ptr<connection>> connect_once(std::string& fatal_error);
  boost::asio::awaitable<std::shared_ptr<connection>> connect_with_retries(std::string& fatal_error);
  boost::asio::awaitable<void> serve(std::shared_ptr<connection> conn);
  boost::asio::awaitable<void> acknowledge(std::shared_ptr<connection> conn, envelope env);
  boost::asio::awaitable<void> retire(std::shared_ptr<connection> old);
  void wake();

  boost::asio::any_io_executor executor_;
  boost::asio::ssl::context& tls_;
  web_api& app_api_;
  std::string bot_user_id_;
  envelope_handler handler_;
  socket_mode_settings settings_;
  reconnect_policy policy_;
  boost::asio::steady_timer wake_;
  std::shared_ptr<connection> active_;
  std::vector<std::shared_ptr<connection>> retiring_;
  bool stopping_ = false;
  std::string fatal_;
  int connections_made_ = 0;
};

}  // namespace releasebot::integrations::slack
