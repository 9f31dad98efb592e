// Text → typed command: strips the bot mention, normalises quotes, tokenises, checks arguments.
#pragma once

#include "commands/command.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace releasebot::commands {

struct parse_error {
  std::string problem;  // one line: what is wrong
  std::string usage;    // the usage line of the command, when one was recognised
};

using parse_result = std::variant<command, parse_error>;

parse_result parse(std::string_view text);

// A token as typed: quoted strings keep their spaces; a mention is "<@ID>" or "<@ID|label>".
std::vector<std::string> tokenize(std::string_view text);
// "<@U1>" / "<@U1|bob>" → "U1"; anything else → empty.
std::string mention_id(std::string_view token);

struct command_spec {
  std::string name;
  std::vector<std::string> aliases;
  std::string usage;
  std::string summary;
  std::vector<std::string> examples;
  std::function<command(std::vector<std::string>&)> parse;  // throws parse_error
  // The policy's permission families governing the command; the loaded policy says who may.
  std::vector<std::string> families;
  // For a command governed by several families: what each one covers ("start, close"), for help.
  std::vector<std::string> family_uses;
  // Who may when no family governs it (the command decides: help is anyone's, approve a role holder's).
  std::string who;
};

// The id a button or form submits, the command it performs, and how its value becomes that command.
struct action_spec {
  std::string id;
  std::string command_name;                              // the command_spec it performs
  std::function<command(std::string_view value)> parse;  // throws parse_error
};

// Every command, in the order help lists them; built once, duplicates rejected.
const std::vector<command_spec>& command_specs();
const command_spec* find_spec(std::string_view name_or_alias);
// Every permission family some command names, in registry order, each once.
const std::vector<std::string>& command_families();
// The commands a family governs, for messages ("deploy, incident").
std::vector<std::string> commands_of_family(std::string_view family);

// The action ids on the bot's buttons.
inline constexpr std::string_view signoff_approve_action = "signoff_approve";
inline constexpr std::string_view signoff_reject_action = "signoff_reject";
const std::vector<action_spec>& action_specs();
const action_spec* find_action(std::string_view id);

}  // namespace releasebot::commands
