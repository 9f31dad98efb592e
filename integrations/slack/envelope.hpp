// Decodes Socket Mode frames into what the bot acts on; knows Slack's JSON, decides nothing.
#pragma once

#include "bot/inbound.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace releasebot::integrations::slack {

enum class envelope_type { hello, disconnect, slash_commands, events_api, interactive, unknown };

// Where and how to answer the person, once the command has been applied.
struct reply_route {
  std::string channel;    // C…/D…/G…
  std::string user;       // U…
  std::string thread_ts;  // the thread the message was in, if any
  bool slash_command = false;  // answer in the ack payload
  bool direct_message = false; // a DM (channel_type im): answer in the DM, not ephemerally
};

struct envelope {
  envelope_type type = envelope_type::unknown;
  std::string type_name;          // as sent, for logs of unknown types
  std::string envelope_id;        // empty for hello/disconnect
  int retry_attempt = 0;
  std::string retry_reason;
  bool accepts_response_payload = false;
  std::string disconnect_reason;  // warning | refresh_requested | link_disabled | …
  // The event to apply; absent when there is nothing to do, with the reason in ignored_because
  // (the bot's own message, an edit, an unsupported event type, a block action not ours …).
  std::optional<bot::inbound> event;
  std::string ignored_because;
  reply_route route;
  // For block_actions: the message holding the clicked buttons.
  std::string action_channel;
  std::string action_message_ts;
};

struct decode_error {
  std::string problem;  // one line, for the log
};

// `bot_user_id` is the bot's own user (from auth.test) so its messages and mentions are known.
// The inbound event uses platform "slack"; event_id is the Events API event_id when there is one,
// else the envelope_id (Slack repeats both on redelivery); text has the leading bot mention kept
// (the parser strips it). Slash command text is prefixed by nothing: "/release status" arrives as
// text "status". Block actions become an inbound with `action` set (action_id, value).
std::variant<envelope, decode_error> decode_envelope(std::string_view frame, std::string_view bot_user_id);

}  // namespace releasebot::integrations::slack
