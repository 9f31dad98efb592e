#include "bot/console_renderer.hpp"

namespace releasebot::bot {

std::string render_plain(const commands::message& body) {
  std::string text = body.plain_text();
  for (const auto& button : body.buttons) text += "\n  [" + button.label + "]";
  if (!body.buttons.empty()) text += "  (in the console, type approve/reject)";
  return text;
}

boost::asio::awaitable<delivery_result> console_channel::send(const delivery_request& request) {
  const auto& pending = request.message;
  std::string where;
  if (pending.destination == "direct") {
    where = "DM @" + pending.recipient + (pending.updates ? ", card updated" : "");
  } else if (pending.destination == "thread" && request.release) {
    where = pending.channel + " › " + request.release->version + (pending.broadcast ? ", also in channel" : "") +
            (pending.updates ? ", edited" : "");
  } else {
    where = pending.channel;
  }
  out_ << '[' << where << "] " << render_plain(request.body) << '\n';
  out_.flush();
  co_return delivery_result::sent("console:" + std::to_string(pending.id));
}

}  // namespace releasebot::bot
