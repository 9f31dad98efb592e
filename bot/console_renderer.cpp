#include "bot/console_renderer.hpp"

#include "storage/outbox.hpp"
#include "storage/release_repository.hpp"

#include <nlohmann/json.hpp>

namespace releasebot::bot {

std::string render_plain(const commands::message& body) {
  std::string text = body.plain_text();
  for (const auto& button : body.buttons) text += "\n  [" + button.label + "]";
  if (!body.buttons.empty()) text += "  (in the console, type approve/reject)";
  return text;
}

int console_outbox_printer::deliver_pending(std::chrono::sys_seconds now) {
  storage::outbox outbox{db_};
  storage::release_repository releases{db_};
  int delivered = 0;
  for (const auto& pending : outbox.pending("console")) {
    storage::transaction tx{db_};
    const auto body = nlohmann::json::parse(pending.payload).get<commands::message>();
    std::string where;
    std::optional<storage::release_record> release;
    if (pending.release_id) release = releases.find(*pending.release_id);
    if (pending.destination == "direct") {
      where = "DM @" + pending.recipient + (pending.updates ? ", card updated" : "");
    } else if (pending.destination == "thread" && release) {
      where = pending.channel + " › " + release->version + (pending.broadcast ? ", also in channel" : "");
    } else {
      where = pending.channel;
    }
    const auto reference = "console:" + std::to_string(pending.id);
    out_ << '[' << where << "] " << render_plain(body) << '\n';
    out_.flush();
    outbox.mark_sent(pending.id, now, reference);
    if (pending.starts_thread && release) releases.set_thread_ref(release->id, reference);
    tx.commit();
    ++delivered;
  }
  return delivered;
}

}  // namespace releasebot::bot
