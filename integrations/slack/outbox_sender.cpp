#include "integrations/slack/outbox_sender.hpp"

#include "commands/message.hpp"
#include "integrations/slack/block_kit.hpp"
#include "storage/release_repository.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;

namespace releasebot::integrations::slack {

namespace {

constexpr double burst = 4.0;              // messages a channel may take at once
constexpr double refill_per_second = 1.0;  // then about one a second (Slack's guidance)

std::chrono::sys_seconds now_seconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

// platform_ref of a Slack message: "<channel>/<ts>".
std::pair<std::string, std::string> split_ref(const std::string& ref) {
  const auto slash = ref.find('/');
  if (slash == std::string::npos) return {};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

}  // namespace

outbox_sender::outbox_sender(asio::any_io_executor executor, storage::database& db, web_api& api)
    : executor_{executor},
      db_{db},
      api_{api},
      pump_{executor, db, "slack", [this](const storage::outbox_message& message) { return deliver(message); },
            [this](const storage::outbox_message& message) { return wait_for_turn(message); }} {}

std::chrono::steady_clock::duration outbox_sender::pacing_bucket::refill(std::chrono::steady_clock::time_point now) {
  const std::chrono::duration<double> elapsed = now - refreshed;
  tokens = std::min(burst, tokens + elapsed.count() * refill_per_second);
  refreshed = now;
  if (tokens >= 1.0) return std::chrono::steady_clock::duration::zero();
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>((1.0 - tokens) / refill_per_second));
}

std::chrono::steady_clock::duration outbox_sender::wait_for_turn(const storage::outbox_message& message) {
  std::string channel = message.channel;
  if (message.destination == "direct") {
    const auto known = direct_channels_.find(message.recipient);
    if (known == direct_channels_.end()) return std::chrono::steady_clock::duration::zero();
    channel = known->second;
  }
  const auto bucket = buckets_.find(channel);
  if (bucket == buckets_.end()) return std::chrono::steady_clock::duration::zero();
  return bucket->second.refill(std::chrono::steady_clock::now());
}

asio::awaitable<void> outbox_sender::pace(const std::string& channel) {
  auto& bucket = buckets_[channel];
  while (true) {
    const auto wait = bucket.refill(std::chrono::steady_clock::now());
    if (wait == std::chrono::steady_clock::duration::zero()) {
      bucket.tokens -= 1.0;
      co_return;
    }
    asio::steady_timer timer{executor_, wait};
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// Delivery bookkeeping costs no sync of its own (it rides on the next command's): it survives the
// bot being killed; after a power cut the worst case is one message posted again.
void outbox_sender::record_sent(const storage::outbox_message& message,
                                const std::optional<storage::release_record>& release, const std::string& channel,
                                const std::string& ts) {
  storage::transaction tx{db_, storage::durability::process_crash};
  storage::outbox{db_}.mark_sent(message.id, now_seconds(), channel + "/" + ts);
  if (message.starts_thread && release) storage::release_repository{db_}.set_thread_ref(release->id, ts);
  tx.commit();
}

asio::awaitable<std::string> outbox_sender::direct_channel(const std::string& user) {
  if (const auto known = direct_channels_.find(user); known != direct_channels_.end()) co_return known->second;
  nlohmann::json arguments = nlohmann::json::object();
  arguments["users"] = user;
  const auto opened = co_await api_.call(std::string{"conversations.open"}, std::move(arguments));
  if (!opened.ok) {
    spdlog::warn("slack: {}", opened.error);
    co_return std::string{};
  }
  const auto channel = opened.body["channel"].value("id", std::string{});
  if (!channel.empty()) direct_channels_[user] = channel;
  co_return channel;
}

// A post that an earlier run started and never recorded may be in Slack already: look for our
// outbox id in the metadata of the messages posted since (a minute of margin for clock skew).
asio::awaitable<outbox_sender::lookup> outbox_sender::find_posted(std::string channel, std::string thread_ts,
                                                                  storage::row_id id, storage::instant since) {
  constexpr int most_pages = 10;
  const auto oldest = (since - std::chrono::minutes{1}).time_since_epoch().count();
  nlohmann::json arguments{{"channel", channel},
                           {"oldest", std::to_string(oldest) + ".000000"},
                           {"inclusive", true},
                           {"include_all_metadata", true},
                           {"limit", 200}};
  std::string method = "conversations.history";
  if (!thread_ts.empty()) {
    method = "conversations.replies";
    arguments["ts"] = thread_ts;
  }
  for (int page = 0; page < most_pages; ++page) {
    const auto result = co_await api_.call(method, arguments);
    if (!result.ok) {
      if (result.retryable) co_return lookup{};
      // Cannot read the channel (e.g. a missing *:history scope): posting again is all we can do.
      spdlog::warn("slack: cannot check whether outbox message {} was posted before ({}); posting it", id, result.error);
      co_return lookup{true, std::nullopt};
    }
    const auto& messages = result.body["messages"];
    if (messages.is_array()) {
      for (const auto& posted : messages) {
        const auto metadata = posted.find("metadata");
        if (metadata == posted.end() || !metadata->is_object()) continue;
        if (metadata->value("event_type", std::string{}) != "releasebot_outbox") continue;
        const auto payload = metadata->find("event_payload");
        if (payload == metadata->end() || !payload->is_object()) continue;
        const auto outbox_id = payload->find("outbox_id");
        if (outbox_id != payload->end() && outbox_id->is_number_integer() && outbox_id->get<storage::row_id>() == id) {
          co_return lookup{true, posted.value("ts", std::string{})};
        }
      }
    }
    std::string cursor;
    if (const auto meta = result.body.find("response_metadata"); meta != result.body.end() && meta->is_object()) {
      cursor = meta->value("next_cursor", std::string{});
    }
    if (cursor.empty()) break;
    arguments["cursor"] = cursor;
  }
  co_return lookup{true, std::nullopt};
}

asio::awaitable<bool> outbox_sender::deliver(const storage::outbox_message& message) {
  commands::message body;
  try {
    body = nlohmann::json::parse(message.payload).get<commands::message>();
  } catch (const std::exception& error) {
    storage::transaction tx{db_};
    storage::outbox{db_}.mark_failed(message.id, std::string{"unreadable payload: "} + error.what());
    tx.commit();
    co_return true;
  }
  std::optional<storage::release_record> release;
  if (message.release_id) {
    storage::transaction tx{db_};
    release = storage::release_repository{db_}.find(*message.release_id);
  }

  nlohmann::json arguments{{"text", render_fallback(body)},
                           {"blocks", render_blocks(body)},
                           {"unfurl_links", false},
                           {"metadata",
                            {{"event_type", "releasebot_outbox"},
                             {"event_payload", {{"outbox_id", message.id}}}}}};
  std::string method = "chat.postMessage";
  std::string channel = message.channel;
  if (message.destination == "direct") {
    channel = co_await direct_channel(message.recipient);
    if (channel.empty()) co_return false;
    if (message.updates) {
      std::optional<std::string> earlier;
      {
        storage::transaction tx{db_};
        earlier = storage::outbox{db_}.platform_ref_of(*message.updates);
      }
      if (const auto [where, ts] = split_ref(earlier.value_or("")); !ts.empty()) {
        method = "chat.update";
        channel = where;
        arguments["ts"] = ts;
        arguments.erase("metadata");
        arguments.erase("unfurl_links");
      }
    }
  } else if (message.destination == "thread" && release && release->thread_ref) {
    arguments["thread_ts"] = *release->thread_ref;
    if (message.broadcast) arguments["reply_broadcast"] = true;
  }
  arguments["channel"] = channel;

  const bool posting = method == "chat.postMessage";  // chat.update is safe to repeat
  if (posting && message.posting_since) {
    const auto thread_ts = arguments.contains("thread_ts") ? arguments["thread_ts"].get<std::string>() : std::string{};
    const auto earlier = co_await find_posted(channel, thread_ts, message.id, *message.posting_since);
    if (!earlier.looked) co_return false;
    if (earlier.ts) {
      spdlog::info("slack: outbox message {} had been posted before the bot stopped ({}); not posting it again",
                   message.id, *earlier.ts);
      record_sent(message, release, channel, *earlier.ts);
      co_return true;
    }
  }

  co_await pace(channel);
  if (posting) {
    storage::transaction tx{db_, storage::durability::process_crash};
    storage::outbox{db_}.mark_posting(message.id, now_seconds());
    tx.commit();
  }
  const auto result = co_await api_.call(method, arguments, false, 4, !posting);
  if (!result.ok) {
    if (result.retryable) {
      spdlog::warn("slack: outbox message {} not delivered yet: {}", message.id, result.error);
      storage::transaction tx{db_, storage::durability::process_crash};
      storage::outbox{db_}.count_attempt(message.id, result.error_code == "ratelimited");
      tx.commit();
      co_return false;
    }
    spdlog::error("slack: outbox message {} refused for good: {}", message.id, result.error);
    storage::transaction tx{db_};
    storage::outbox{db_}.mark_failed(message.id, result.error);
    tx.commit();
    co_return true;
  }
  const auto ts = result.body.value("ts", std::string{});
  const auto posted_channel = result.body.value("channel", channel);
  record_sent(message, release, posted_channel, ts);
  ++delivered_;
  co_return true;
}

}  // namespace releasebot::integrations::slack
