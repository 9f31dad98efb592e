// libFuzzer target: anything a person can type goes through the parser and the neutraliser.
#include "commands/message.hpp"
#include "commands/parser.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  const auto parsed = releasebot::commands::parse(text);
  if (const auto* command = std::get_if<releasebot::commands::command>(&parsed)) {
    (void)releasebot::commands::command_name(*command);
  }
  (void)releasebot::commands::neutralize(text);
  return 0;
}
