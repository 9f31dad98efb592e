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
  std::string who;
  std::vector<std::string> examples;
  std::function<command(std::vector<std::string>&)> parse;  // throws parse_error
};

// Every command, in the order help lists them; built once, duplicates rejected.
const std::vector<command_spec>& command_specs();
const command_spec* find_spec(std::string_view name_or_alias);

}  // namespace releasebot::commands
