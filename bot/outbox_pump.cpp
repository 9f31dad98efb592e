#include "bot/outbox_pump.hpp"

#include "commands/engine.hpp"

#include "storage/release_repository.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace asio = boost::asio;

namespace releasebot::bot {

namespace {

constexpr auto idle_wait = std::chrono::seconds{30};
constexpr int batch = 100;

std::chrono::sys_seconds now_seconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace

outbox_pump::outbox_pump(asio::any_io_executor executor, storage::database& db, delivery_channel& channel,
                         metrics* stats)
    : db_{db}, channel_{channel}, stats_{stats}, platform_{channel.platform()}, wake_{executor} {}

std::chrono::milliseconds outbox_pump::backoff(int attempts) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto ceiling = std::min(std::chrono::milliseconds{60'000},
                                std::chrono::milliseconds{500} * (1 << std::clamp(attempts, 0, 7)));
  std::uniform_int_distribution<long> jitter{ceiling.count() / 2, ceiling.count()};
  return std::chrono::milliseconds{jitter(random)};
}

void outbox_pump::poke() {
  poked_ = true;
  wake_.cancel();
}

void outbox_pump::stop() {
  stopping_ = true;
  wake_.cancel();
}

void outbox_pump::count(std::string_view result) {
  if (stats_ != nullptr) stats_->add("releasebot_deliveries_total", {{"platform", platform_}, {"result", std::string{result}}});
}

void outbox_pump::enqueue_thread_notice(const storage::release_record& release, const commands::message& body) {
  auto notice = commands::addressed(release, body, now_seconds());
  notice.destination = "thread";
  storage::outbox{db_}.enqueue(notice);
}

storage::durability outbox_pump::marks_durability() const {
  return channel_.marks_survive_power_loss() ? storage::durability::power_loss : storage::durability::process_crash;
}

void outbox_pump::hold(const std::string& conversation, clock::duration wait) {
  held_until_[conversation] = clock::now() + wait;
}

outbox_pump::clock::duration outbox_pump::pacing_wait(const std::string& conversation) {
  const auto rate = channel_.pace();
  if (rate.burst <= 0) return clock::duration::zero();
  const auto now = clock::now();
  auto [it, fresh] = buckets_.try_emplace(conversation, bucket{rate.burst, now});
  auto& tokens = it->second;
  if (!fresh) {
    const std::chrono::duration<double> elapsed = now - tokens.refreshed;
    tokens.tokens = std::min(rate.burst, tokens.tokens + elapsed.count() * rate.per_second);
    tokens.refreshed = now;
  }
  if (tokens.tokens >= 1.0) return clock::duration::zero();
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>((1.0 - tokens.tokens) / rate.per_second));
}

asio::awaitable<void> outbox_pump::run() {
  while (!stopping_) {
    poked_ = false;
    bool settled_any = false;
    std::optional<clock::time_point> next_look;
    if (!in_round_) next_look = co_await round(settled_any);
    if (stopping_) break;  // stop() during a delivery: do not wait for the next look
    // Delivering can queue more (a notice about an unreachable person): look again at once.
    if ((poked_ || settled_any) && !stopping_) continue;
    if (next_look) {
      wake_.expires_at(*next_look);
    } else {
      wake_.expires_after(idle_wait);
    }
    co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> outbox_pump::deliver_now() {
  if (in_round_) {
    poke();  // the round under way picks up what is new
    co_return;
  }
  bool settled_any = true;
  for (int rounds = 0; settled_any && rounds < 16 && !stopping_; ++rounds) {
    settled_any = false;
    co_await round(settled_any);
  }
}

asio::awaitable<std::optional<outbox_pump::clock::time_point>> outbox_pump::round(bool& settled_any) {
  in_round_ = true;
  std::optional<clock::time_point> next_look;
  const auto wait_until = [&next_look](clock::time_point at) { next_look = std::min(next_look.value_or(at), at); };
  try {
    std::vector<storage::outbox_message> heads;
    {
      storage::transaction tx{db_};
      heads = storage::outbox{db_}.pending_heads(platform_, batch);
    }
    for (const auto& message : heads) {
      if (stopping_) break;
      const auto conversation = storage::conversation_of(message);
      if (const auto held = held_until_.find(conversation); held != held_until_.end()) {
        if (held->second > clock::now()) {
          wait_until(held->second);
          continue;
        }
        held_until_.erase(held);
      }
      // A message pays its conversation's pacing once, on its first attempt; a retry is spaced by
      // its hold (the platform's Retry-After, or backoff) instead.
      if (const auto wait = message.attempts == 0 ? pacing_wait(conversation) : clock::duration::zero();
          wait > clock::duration::zero()) {
        wait_until(clock::now() + wait);
        continue;
      }
      const bool settled = co_await deliver(message, conversation);
      if (settled) {
        settled_any = true;
      } else if (const auto held = held_until_.find(conversation); held != held_until_.end()) {
        wait_until(held->second);
      }
    }
  } catch (const std::exception& error) {
    spdlog::error("{}: outbox delivery failed: {}", platform_, error.what());
    wait_until(clock::now() + backoff(0));
  }
  in_round_ = false;
  co_return next_look;
}

asio::awaitable<bool> outbox_pump::deliver(const storage::outbox_message& message, const std::string& conversation) {
  commands::message body;
  std::optional<storage::release_record> release;
  std::optional<std::string> earlier_ref;
  try {
    if (channel_.renders_messages()) body = nlohmann::json::parse(message.payload).get<commands::message>();
  } catch (const std::exception& error) {
    storage::transaction tx{db_};
    storage::outbox{db_}.mark_failed(message.id, std::string{"unreadable payload: "} + error.what());
    tx.commit();
    count("failed");
    co_return true;
  }
  {
    storage::transaction tx{db_};
    // A burst of edits to one message (a deployment's steps) makes one edit: the newest.
    if (storage::outbox{db_}.has_newer_edit(message)) {
      storage::outbox{db_}.mark_sent(message.id, now_seconds(), "superseded");
      tx.commit();
      count("superseded");
      co_return true;
    }
    if (message.release_id) release = storage::release_repository{db_}.find(*message.release_id);
    if (message.updates) earlier_ref = storage::outbox{db_}.platform_ref_of(*message.updates);
  }
  const delivery_request request{message, body, release, earlier_ref};
  const bool findable = channel_.can_find_earlier(request);

  if (findable && message.posting_since) {
    const auto earlier = co_await channel_.find_earlier(request, *message.posting_since);
    if (earlier && earlier->kind == delivery_result::outcome::retry) {
      spdlog::warn("{}: cannot yet check whether outbox message {} was posted before: {}", platform_, message.id,
                   earlier->reason);
      hold(conversation, backoff(message.attempts));
      count("retried");
      co_return false;
    }
    if (earlier && earlier->kind == delivery_result::outcome::refused) {
      spdlog::error("{}: outbox message {} may have gone out before the bot stopped; not sending it again: {}", platform_,
                    message.id, earlier->reason);
      record_refused(message, release, *earlier);
      count("failed");
      co_return true;
    }
    if (earlier && earlier->kind == delivery_result::outcome::sent) {
      spdlog::info("{}: outbox message {} had been posted before the bot stopped ({}); not posting it again", platform_,
                   message.id, earlier->reference);
      record_sent(message, release, *earlier);
      count("found_posted");
      co_return true;
    }
  }

  if (channel_.pace().burst > 0 && message.attempts == 0) buckets_[conversation].tokens -= 1.0;
  if (findable) {
    storage::transaction tx{db_, marks_durability()};
    storage::outbox{db_}.mark_posting(message.id, now_seconds());
    tx.commit();
  }
  const auto result = co_await channel_.send(request);
  switch (result.kind) {
    case delivery_result::outcome::sent:
      record_sent(message, release, result);
      count("sent");
      co_return true;
    case delivery_result::outcome::refused:
      spdlog::error("{}: outbox message {} refused for good: {}", platform_, message.id, result.reason);
      record_refused(message, release, result);
      count("failed");
      co_return true;
    case delivery_result::outcome::retry:
      break;
  }
  {
    storage::transaction tx{db_, storage::durability::process_crash};
    storage::outbox{db_}.count_attempt(message.id, result.outcome_known);
    tx.commit();
  }
  const auto wait = result.retry_after ? std::chrono::duration_cast<std::chrono::milliseconds>(*result.retry_after)
                                       : backoff(message.attempts);
  spdlog::warn("{}: outbox message {} not delivered yet ({}); trying again in {} ms", platform_, message.id,
               result.reason, wait.count());
  hold(conversation, wait);
  count(result.retry_after ? "rate_limited" : "retried");
  co_return false;
}

// Delivery bookkeeping costs no sync of its own (it rides on the next command's): it survives the
// bot being killed; after a power cut the worst case is one message posted again.
void outbox_pump::record_sent(const storage::outbox_message& message,
                              const std::optional<storage::release_record>& release, const delivery_result& result) {
  storage::transaction tx{db_, marks_durability()};
  storage::outbox{db_}.mark_sent(message.id, now_seconds(), result.reference);
  const bool noticed = release && result.thread_notice;
  if (noticed) enqueue_thread_notice(*release, *result.thread_notice);
  if (message.starts_thread && release) {
    storage::release_repository{db_}.set_thread_ref(release->id,
                                                    result.thread_ref.empty() ? result.reference : result.thread_ref);
  }
  tx.commit();
  if (noticed && queued_elsewhere_) queued_elsewhere_();
}

void outbox_pump::record_refused(const storage::outbox_message& message,
                                 const std::optional<storage::release_record>& release, const delivery_result& result) {
  storage::transaction tx{db_};
  bool told_before = false;
  if (result.waits_for_recipient) {
    // Held again after being requeued: the coordinator heard about it the first time.
    told_before = storage::outbox{db_}.was_held(message.id);
    storage::outbox{db_}.mark_waiting(message.id, result.reason);
  } else {
    storage::outbox{db_}.mark_failed(message.id, result.reason);
  }
  // Tell the coordinator directly when the thread itself is what failed, else in the thread; a
  // notice that cannot reach the coordinator either is only logged.
  const bool to_thread = message.destination == "direct" && release && message.recipient != release->coordinator;
  if (release && result.thread_notice) {
    enqueue_thread_notice(*release, *result.thread_notice);
  } else if (release && !told_before && (to_thread || message.destination != "direct")) {
    const auto fix = result.fix.empty() ? "the platform refused it (" + result.reason + ")" : result.fix;
    commands::message_builder notice{commands::message_kind::error};
    notice.text("⚠️ I could not deliver a message about ").strong(release->version).text(" to ");
    if (message.destination == "direct") {
      notice.mention(message.recipient);
    } else {
      notice.channel(message.channel);
    }
    notice.text(": " + fix + ".");
    if (result.waits_for_recipient) notice.text(" It goes out as soon as they can be reached.");
    auto report = commands::addressed(*release, notice.build(), now_seconds());
    if (to_thread) {
      report.destination = "thread";
    } else {
      report.destination = "direct";
      report.recipient = release->coordinator;
    }
    storage::outbox{db_}.enqueue(report);
  }
  tx.commit();
  if (queued_elsewhere_) queued_elsewhere_();
}

}  // namespace releasebot::bot
