// The neutral message model: what the domain says, before any platform renders it.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace releasebot::commands {

enum class span_kind {
  text,       // our own words
  user_text,  // words a user typed: renderers escape them and they can never ping
  mention,    // a deliberate ping of a user id
  strong,     // emphasis (our own words)
  code,       // a version, an id, a command
  channel     // a conversation the bot posts in (its platform id): Slack shows <#C…> by name
};

struct span {
  span_kind kind = span_kind::text;
  std::string value;  // mention: the person's stable id (what is stored)
  // mention: what people read for them, filled from the people directory just before rendering
  // (see name_people); never stored, since names change. Empty: renderers show value.
  std::string name;
};

using paragraph = std::vector<span>;

enum class button_style { plain, primary, danger };

struct button {
  std::string action_id;  // "signoff_approve"
  std::string label;
  std::string value;      // opaque to the platform; parsed back on click
  button_style style = button_style::plain;
  std::string confirm;    // non-empty: ask "are you sure" with this text first
};

enum class message_kind { reply, error, announcement, status, signoff_request, decision, reminder };

struct message {
  message_kind kind = message_kind::reply;
  std::vector<paragraph> paragraphs;
  std::vector<button> buttons;

  // The whole message as plain text (console, notification fallback).
  std::string plain_text() const;
};

// Builds a message one paragraph at a time: builder.text("Opened ").code("4.2.0").line()…
class message_builder {
public:
  explicit message_builder(message_kind kind = message_kind::reply) { message_.kind = kind; }
  message_builder& text(std::string_view value);
  message_builder& user_text(std::string_view value);
  message_builder& mention(std::string_view user_id);
  message_builder& strong(std::string_view value);
  message_builder& code(std::string_view value);
  message_builder& channel(std::string_view channel_id);
  message_builder& line();  // ends the current paragraph
  message_builder& add_button(button value);
  message build();

private:
  message message_;
  paragraph current_;
};

// Calls `name` on every mention span, for a renderer to fill span.name (and, where a platform
// pings by another id than the stable one, span.value) from its people directory.
void name_people(message& body, const std::function<void(span&)>& name);
// The stable ids of everyone mentioned, each once, in order.
std::vector<std::string> mentioned_people(const message& body);

// Makes typed text inert: no <!channel>, <@U…>, <at>…</at>, @here/@channel/@everyone survive.
std::string neutralize(std::string_view typed);

void to_json(nlohmann::json& json, const message& value);
void from_json(const nlohmann::json& json, message& value);

}  // namespace releasebot::commands
