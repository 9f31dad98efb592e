// Shows neutral messages in a terminal and delivers the console's share of the outbox.
#pragma once

#include "commands/message.hpp"
#include "storage/database.hpp"

#include <chrono>
#include <ostream>

namespace releasebot::bot {

std::string render_plain(const commands::message& body);

class console_outbox_printer {
public:
  console_outbox_printer(storage::database& db, std::ostream& out) : db_{db}, out_{out} {}

  // Prints every pending console message, oldest first, marking each sent as it is printed.
  int deliver_pending(std::chrono::sys_seconds now);

private:
  storage::database& db_;
  std::ostream& out_;
};

}  // namespace releasebot::bot
