#include "integrations/slack/envelope.hpp"

#include "integrations/net/json_reader.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace releasebot::integrations::slack {

namespace {

using nlohmann::json;

constexpr std::size_t max_text_chars = 40'000;

using malformed = net::malformed_json;
using node = net::json_reader;

[[noreturn]] void fail(std::string problem) { net::reject_json(std::move(problem)); }

std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// Slack sends typed & < > as entities (its own markup keeps the bare brackets); the parser and
// every renderer expect the text as typed, and the renderers escape again on the way out.
std::string unescape(std::string_view text) {
  static constexpr std::pair<std::string_view, char> entities[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    bool replaced = false;
    for (const auto& [entity, character] : entities) {
      if (text.substr(at, entity.size()) == entity) {
        out += character;
        at += entity.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += text[at++];
  }
  return out;
}

std::string typed_text(const node& parent, std::string_view key) {
  const auto text = parent.optional_string(key).value_or(std::string{});
  if (code_points(text) > max_text_chars) fail(parent.where(key) + " is longer than 40000 characters");
  return unescape(text);
}

bot::inbound new_inbound(std::string event_id) {
  bot::inbound event;
  event.platform = "slack";
  event.event_id = std::move(event_id);
  return event;
}

void deliver(envelope& out, bot::inbound event, std::string thread_ts) {
  out.route.channel = event.channel;
  out.route.user = event.user;
  out.route.thread_ts = std::move(thread_ts);
  out.event = std::move(event);
}

void ignore(envelope& out, std::string reason) {
  out.event.reset();
  out.ignored_because = std::move(reason);
}

void decode_slash_command(const node& payload, envelope& out) {
  auto event = new_inbound(out.envelope_id);
  event.user = payload.id("user_id");
  event.channel = payload.id("channel_id");
  event.text = typed_text(payload, "text");
  out.route.slash_command = true;
  deliver(out, std::move(event), {});
}

// Why a message or mention is not a person talking to the bot, if it is not.
std::optional<std::string> not_from_a_person(const node& event, std::string_view bot_user_id) {
  if (event.find("bot_id") != nullptr) return "a message from a bot";
  if (const json* subtype = event.find("subtype")) {
    return "a message with subtype " + (subtype->is_string() ? subtype->get<std::string>() : subtype->dump());
  }
  const json* user = event.find("user");
  if (!bot_user_id.empty() && user != nullptr && user->is_string() &&
      user->get_ref<const std::string&>() == bot_user_id) {
    return "the bot's own message";
  }
  return std::nullopt;
}

void decode_event_callback(const node& payload, std::string_view bot_user_id, envelope& out) {
  const auto event_id = payload.id("event_id");
  if (const auto kind = payload.optional_string("type"); kind && *kind != "event_callback") {
    return ignore(out, "events_api payload of type " + *kind);
  }
  const auto event = payload.object("event");
  const auto type = event.id("type");
  if (type != "app_mention" && type != "message") return ignore(out, "unsupported event type " + type);
  if (auto reason = not_from_a_person(event, bot_user_id)) return ignore(out, std::move(*reason));
  const bool direct = type == "message";
  if (direct && event.optional_string("channel_type") != "im") {
    return ignore(out, "a channel message that does not mention the bot");
  }

  auto inbound = new_inbound(event_id);
  inbound.user = event.id("user");
  inbound.channel = event.id("channel");
  inbound.text = typed_text(event, "text");
  inbound.thread = event.optional_id("thread_ts");
  const auto ts = event.optional_id("ts");
  out.route.direct_message = direct;
  // A mention is answered in its thread, starting one if need be; a DM is answered in the DM.
  auto reply_thread = inbound.thread.empty() && !direct ? ts : inbound.thread;
  deliver(out, std::move(inbound), std::move(reply_thread));
}

void decode_interaction(const node& payload, envelope& out) {
  const auto type = payload.id("type");
  if (type != "block_actions") return ignore(out, "interactive payload of type " + type);
  const auto& actions = payload.expect("actions", json::value_t::array, "an array");
  if (actions.empty()) fail("payload.actions is empty");
  if (!actions.front().is_object()) {
    fail(std::string{"payload.actions[0] is "} + actions.front().type_name() + ", expected an object");
  }
  const node action{actions.front(), "payload.actions[0]"};
  if (const auto kind = action.optional_string("type"); kind && *kind != "button") {
    return ignore(out, "a block action of type " + *kind + ", not a button");
  }

  auto inbound = new_inbound(out.envelope_id);
  inbound.action = bot::button_action{action.id("action_id"), action.optional_string("value").value_or("")};
  inbound.user = payload.object("user").id("id");
  const auto container = payload.optional_object("container");
  if (container) {
    out.action_channel = container->optional_id("channel_id");
    out.action_message_ts = container->optional_id("message_ts");
    inbound.thread = container->optional_id("thread_ts");
  }
  const auto channel = payload.optional_object("channel");
  inbound.channel = channel ? channel->id("id") : out.action_channel;
  if (inbound.channel.empty()) return ignore(out, "a block action outside a conversation");
  auto thread = inbound.thread;
  deliver(out, std::move(inbound), std::move(thread));
}

envelope decode_object(const node& frame, std::string_view bot_user_id) {
  envelope out;
  out.type_name = frame.id("type");
  if (out.type_name == "hello") {
    out.type = envelope_type::hello;
  } else if (out.type_name == "disconnect") {
    out.type = envelope_type::disconnect;
    out.disconnect_reason = frame.optional_string("reason").value_or("");
  } else if (out.type_name == "slash_commands" || out.type_name == "events_api" || out.type_name == "interactive") {
    out.envelope_id = frame.id("envelope_id");
    out.retry_attempt = frame.optional_count("retry_attempt");
    out.retry_reason = frame.optional_string("retry_reason").value_or("");
    out.accepts_response_payload = frame.optional_flag("accepts_response_payload");
    const auto payload = frame.object("payload");
    if (out.type_name == "slash_commands") {
      out.type = envelope_type::slash_commands;
      decode_slash_command(payload, out);
    } else if (out.type_name == "events_api") {
      out.type = envelope_type::events_api;
      decode_event_callback(payload, bot_user_id, out);
    } else {
      out.type = envelope_type::interactive;
      decode_interaction(payload, out);
    }
  } else {
    // Kept so that an envelope of a type added later can still be acknowledged.
    out.envelope_id = frame.optional_string("envelope_id").value_or("");
  }
  return out;
}

}  // namespace

std::variant<envelope, decode_error> decode_envelope(std::string_view frame, std::string_view bot_user_id) {
  json root;
  try {
    root = json::parse(frame);
  } catch (const json::parse_error& error) {
    // The position only: the parser's own message quotes the frame, which may hold user text.
    return decode_error{"frame is not valid JSON (syntax error at byte " + std::to_string(error.byte) + ")"};
  } catch (const json::exception&) {
    // nlohmann throws out_of_range for numbers too large for a double (found by fuzzing).
    return decode_error{"frame is not usable JSON (a number out of range)"};
  }
  if (!root.is_object()) return decode_error{std::string{"frame is "} + root.type_name() + ", expected an object"};
  try {
    return decode_object(node{root, {}}, bot_user_id);
  } catch (const malformed& error) {
    return decode_error{error.problem};
  } catch (const json::exception& error) {
    return decode_error{std::string{"frame could not be decoded: "} + error.what()};
  }
}

}  // namespace releasebot::integrations::slack
