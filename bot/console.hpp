// The terminal console: type commands as someone, see replies and announcements.
#pragma once

#include "bot/dispatcher.hpp"
#include "bot/outbox_pump.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <iosfwd>
#include <string>

namespace releasebot::bot {

struct console_options {
  std::string user;       // --as
  std::string time_zone;  // empty: the configured default
  bool interactive = false;
};

class console_session {
public:
  console_session(dispatcher& dispatch, outbox_pump& console_outbox, console_options options, std::ostream& out);

  // Handles one typed line (a command or a /meta command); false when the user asked to leave.
  boost::asio::awaitable<bool> handle_line(std::string line);
  // Reads standard input on the event loop until end of input or /quit.
  boost::asio::awaitable<void> run();

  const std::string& user() const { return options_.user; }
  // Called after every command (the scheduler may have a new nearest timer).
  void on_command(std::function<void()> callback) { after_command_ = std::move(callback); }

private:
  void prompt();

  dispatcher& dispatch_;
  outbox_pump& console_outbox_;
  console_options options_;
  std::ostream& out_;
  std::string session_id_;
  long line_number_ = 0;
  std::function<void()> after_command_;
};

// "@bob" → "<@bob>", so the console speaks the same mention form as the platforms.
std::string console_mentions_to_neutral(std::string_view text);

}  // namespace releasebot::bot
