#include "bot/console.hpp"
#include "bot/console_renderer.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <regex>

namespace asio = boost::asio;

namespace releasebot::bot {

namespace {
constexpr std::size_t max_line_bytes = 64 * 1024;
}  // namespace

std::string console_mentions_to_neutral(std::string_view text) {
  static const std::regex console_mention{R"((^|[\s(])@([A-Za-z0-9][A-Za-z0-9._-]*))"};
  return std::regex_replace(std::string{text}, console_mention, "$1<@$2>");
}

console_session::console_session(dispatcher& dispatch, outbox_pump& console_outbox, console_options options,
                                 std::ostream& out)
    : dispatch_{dispatch}, console_outbox_{console_outbox}, options_{std::move(options)}, out_{out} {
  session_id_ = std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

void console_session::prompt() {
  if (options_.interactive) {
    out_ << options_.user << "> ";
    out_.flush();
  }
}

asio::awaitable<bool> console_session::handle_line(std::string line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  const auto first = line.find_first_not_of(" \t");
  if (first == std::string::npos || line[first] == '#') co_return true;
  line.erase(0, first);
  if (line == "/quit" || line == "/exit") co_return false;
  if (line.rfind("/as", 0) == 0) {
    auto name = line.substr(3);
    name.erase(0, name.find_first_not_of(' '));
    if (!name.empty() && name.front() == '@') name.erase(0, 1);
    if (name.empty() || name.find(' ') != std::string::npos) {
      out_ << "usage: /as NAME — act as another user\n";
    } else {
      options_.user = name;
      out_ << "You are now " << name << ".\n";
    }
    co_return true;
  }
  if (line.front() == '/') {
    out_ << "Console commands: /as NAME, /quit. Everything else is a command for the bot — say help.\n";
    co_return true;
  }
  inbound event;
  event.platform = "console";
  event.event_id = session_id_ + "-" + std::to_string(++line_number_);
  event.user = options_.user;
  event.channel = "console";
  event.time_zone = options_.time_zone;
  event.text = console_mentions_to_neutral(line);
  const auto result = dispatch_.dispatch(event);
  out_ << render_plain(result.reply) << '\n';
  out_.flush();
  co_await console_outbox_.deliver_now();
  if (result.changed && after_command_) after_command_();
  co_return true;
}

asio::awaitable<void> console_session::run() {
  struct stat info {};
  const bool regular_file = ::fstat(STDIN_FILENO, &info) == 0 && S_ISREG(info.st_mode);
  prompt();
  if (regular_file) {
    // epoll cannot wait on regular files; a file on stdin is read directly.
    std::string line;
    while (std::getline(std::cin, line)) {
      const bool more = co_await handle_line(line);
      if (!more) co_return;
      prompt();
    }
    co_return;
  }
  asio::posix::stream_descriptor input{co_await asio::this_coro::executor, ::dup(STDIN_FILENO)};
  asio::streambuf buffer{max_line_bytes};
  bool skipping_long_line = false;
  while (true) {
    auto [error, length] = co_await asio::async_read_until(input, buffer, '\n', asio::as_tuple(asio::use_awaitable));
    if (error == asio::error::not_found) {
      // The buffer filled without a newline: drop the line whole rather than run half of it.
      buffer.consume(buffer.size());
      if (!skipping_long_line) out_ << "That line is longer than " << max_line_bytes << " bytes; it was ignored.\n";
      skipping_long_line = true;
      continue;
    }
    if (error && buffer.size() == 0) break;  // end of input
    std::string line;
    if (error) {
      line.assign(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
      buffer.consume(buffer.size());
    } else {
      line.assign(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(length) - 1);
      buffer.consume(length);
    }
    if (skipping_long_line) {
      skipping_long_line = false;  // this was the tail of the long line
      continue;
    }
    const bool more = co_await handle_line(std::move(line));
    if (!more || error) break;
    prompt();
  }
  if (options_.interactive) out_ << '\n';
}

}  // namespace releasebot::bot
