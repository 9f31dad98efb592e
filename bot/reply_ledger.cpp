#include "bot/reply_ledger.hpp"

#include "storage/processed_events.hpp"

#include <boost/system/error_code.hpp>
#include <spdlog/spdlog.h>

namespace releasebot::bot {

namespace {

constexpr auto remembered_for = std::chrono::minutes{30};
constexpr std::size_t max_remembered = 20'000;

std::string key_of(const inbound& event) { return event.platform + '\n' + event.event_id; }

bool stored(const dispatch_result& result) { return result.changed || result.duplicate; }

}  // namespace

void reply_ledger::forget_old(std::chrono::steady_clock::time_point now) {
  while (!by_age_.empty() && (now - by_age_.front().first > remembered_for || by_age_.size() > max_remembered)) {
    const auto& [at, key] = by_age_.front();
    // A key claimed again later has a newer entry of its own.
    if (const auto claim = claimed_.find(key); claim != claimed_.end() && claim->second == at) claimed_.erase(claim);
    by_age_.pop_front();
  }
}

bool reply_ledger::claim(const inbound& event, const dispatch_result& result) {
  // Our own failure (nothing stored) is answered, and does not keep a redelivery that succeeds
  // from answering too.
  if (event.event_id.empty() || result.failed) return true;
  if (result.duplicate && result.reply_posted) {
    spdlog::info("event {}/{} was answered before; nothing posted again", event.platform, event.event_id);
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  forget_old(now);
  auto key = key_of(event);
  if (!claimed_.try_emplace(key, now).second) {
    spdlog::info("event {}/{} is answered by an earlier delivery; nothing posted again", event.platform, event.event_id);
    return false;
  }
  by_age_.emplace_back(now, std::move(key));
  return true;
}

void reply_ledger::settle(const inbound& event, const dispatch_result& result, bool ok) {
  if (event.event_id.empty() || result.failed) return;
  if (!ok) {
    claimed_.erase(key_of(event));
    return;
  }
  if (!stored(result)) return;
  unwritten_.emplace_back(event.platform, event.event_id);
  if (flush_armed_) return;
  flush_armed_ = true;
  flush_timer_.expires_after(flush_after_);
  flush_timer_.async_wait([this](const boost::system::error_code& error) {
    flush_armed_ = false;
    if (!error) flush();
  });
}

reply_ledger::~reply_ledger() {
  flush_timer_.cancel();
  flush();
}

void reply_ledger::flush() {
  if (unwritten_.empty()) return;
  try {
    // A lost mark costs at most one repeated reply after a power cut: no sync of its own.
    storage::transaction tx{db_, storage::durability::process_crash};
    storage::processed_events seen{db_};
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    for (const auto& [platform, event_id] : unwritten_) seen.mark_reply_posted(platform, event_id, now);
    tx.commit();
  } catch (const std::exception& failure) {
    spdlog::warn("could not mark {} repl(ies) as posted: {}", unwritten_.size(), failure.what());
  }
  unwritten_.clear();
}

}  // namespace releasebot::bot
