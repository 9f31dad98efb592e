// One event from any platform, in neutral form: a line of text or a button click.
#pragma once

#include "commands/command.hpp"

#include <optional>
#include <string>

namespace releasebot::bot {

struct button_action {
  std::string action_id;  // "signoff_approve" | "signoff_reject"
  std::string value;      // what the button carried
};

struct inbound {
  std::string platform;   // "console", "slack", "teams"
  std::string event_id;   // the platform's id for this delivery (redeliveries repeat it)
  std::string user;       // stable user id
  std::string channel;
  std::string thread;
  std::string time_zone;  // the user's IANA zone if the platform knows it
  std::string text;       // mentions already in the neutral <@id> form
  std::optional<button_action> action;
  // Set by a system that speaks in fields, not words (a pipeline's webhook): the command itself,
  // with the same checks as the typed one.
  std::optional<commands::command> command;
};

}  // namespace releasebot::bot
