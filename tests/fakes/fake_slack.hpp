// A fake Slack for tests, on 127.0.0.1 only: the Web API over HTTPS and Socket Mode over TLS
// WebSockets, with a throwaway CA made at start. It records what the bot sends and misbehaves on
// command. It runs its own thread; every method is safe to call from the test thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace releasebot::testing {

struct api_call {
  std::string method;       // "chat.postMessage"
  std::string authorization;  // the Authorization header as sent
  std::string content_type;
  nlohmann::json body;      // JSON body, or form fields as a JSON object of strings
  std::chrono::steady_clock::time_point at;
  int status = 200;         // the HTTP status answered: 429 when rate limited, 503 on a server error
  nlohmann::json response;  // the JSON the fake answered (e.g. the "ts" of a posted message)
};

class fake_slack {
public:
  fake_slack();  // listens on 127.0.0.1, ephemeral port; makes a CA and a server certificate
  ~fake_slack();
  fake_slack(const fake_slack&) = delete;
  fake_slack& operator=(const fake_slack&) = delete;

  std::string api_url() const;   // "https://127.0.0.1:PORT/api/"
  std::string ca_file() const;   // PEM of the throwaway CA, for SSL_CERT_FILE
  std::string bot_user_id() const { return "UBOT"; }
  std::string app_token() const { return "xapp-1-test"; }
  std::string bot_token() const { return "xoxb-test"; }

  // ---- Socket Mode
  // Waits until `count` WebSocket connections have been accepted and sent hello in total.
  bool wait_for_connections(int count, std::chrono::milliseconds timeout);
  int connections() const;          // connections that got hello so far
  int open_connections() const;     // currently open
  // Sends a frame on the newest open connection (or a given one: 1 = first accepted).
  void send(const nlohmann::json& frame, int connection = 0);
  // Envelope helpers; each returns the envelope_id used.
  std::string send_slash_command(const std::string& user, const std::string& channel, const std::string& text,
                                 int retry_attempt = 0, const std::string& envelope_id = {});
  std::string send_app_mention(const std::string& user, const std::string& channel, const std::string& text,
                               const std::string& event_id = {}, int retry_attempt = 0,
                               const std::string& envelope_id = {});
  std::string send_direct_message(const std::string& user, const std::string& text, const std::string& event_id = {});
  // `envelope_id` given: a redelivery of that click (retry_attempt counts them).
  std::string send_button_click(const std::string& user, const std::string& action_id, const std::string& value,
                                const std::string& channel, const std::string& message_ts,
                                const std::string& envelope_id = {}, int retry_attempt = 0);
  void send_disconnect(const std::string& reason, int connection = 0);  // warning | refresh_requested | link_disabled
  void drop_connection(int connection = 0);  // abrupt TCP close, no close frame
  void reset_connection(int connection = 0);  // abrupt TCP reset (RST: SO_LINGER 0), no close frame
  // Stops answering pings and sending anything on that connection (a silent peer).
  void go_silent(int connection = 0);
  // The ack for an envelope (the JSON the bot sent), waiting up to `timeout`.
  std::optional<nlohmann::json> wait_for_ack(const std::string& envelope_id, std::chrono::milliseconds timeout);
  int ack_count(const std::string& envelope_id) const;
  // For latency measurements (steady clock): when send() first handed the envelope to an open
  // connection, on the server thread; and when its first ack arrived. nullopt: not (yet).
  std::optional<std::chrono::steady_clock::time_point> sent_time(const std::string& envelope_id) const;
  std::optional<std::chrono::steady_clock::time_point> ack_time(const std::string& envelope_id) const;
  // Forgets what was recorded about an envelope (its acks and times), so that a long load run
  // does not grow without bound.
  void forget_envelope(const std::string& envelope_id);
  // Every non-ack frame the bot sent (should be none), for assertions.
  std::vector<nlohmann::json> other_frames() const;

  // ---- Web API (POST https://127.0.0.1:PORT/api/<method>)
  std::vector<api_call> calls(const std::string& method = {}) const;
  // Waits for a call of `method` whose body satisfies `match`; returns it.
  std::optional<api_call> wait_for_call(const std::string& method, const std::function<bool(const api_call&)>& match,
                                        std::chrono::milliseconds timeout);
  // The next `times` calls of `method` answer HTTP 429 with Retry-After: retry_after_seconds.
  void rate_limit(const std::string& method, int times, int retry_after_seconds);
  // The next `times` calls of `method` answer HTTP 503.
  void fail_with_server_error(const std::string& method, int times);
  // apps.connections.open / auth.test answer {"ok":false,"error":error} from now on ("" = normal).
  void set_auth_error(const std::string& error);
  void set_user_time_zone(const std::string& user, const std::string& tz);  // users.info tz

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace releasebot::testing
