// Shows neutral messages in a terminal: the console's delivery channel for the outbox pump.
#pragma once

#include "bot/delivery.hpp"
#include "commands/message.hpp"

#include <ostream>

namespace releasebot::bot {

std::string render_plain(const commands::message& body);

class console_channel : public delivery_channel {
public:
  explicit console_channel(std::ostream& out) : out_{out} {}

  std::string_view platform() const override { return "console"; }
  // Prints the message with where it would go ("[#releases › 4.2.0] …", "[DM @pam] …").
  boost::asio::awaitable<delivery_result> send(const delivery_request& request) override;

private:
  std::ostream& out_;
};

}  // namespace releasebot::bot
