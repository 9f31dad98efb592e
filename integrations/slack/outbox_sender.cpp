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
      pump_{executor, db, "slack", [this](const storage::outbox_message& message) { return deliver(message); }} {}

asio::awaitable<void> outbox_sender::pace(const std::string& channel) {
  auto& bucket = buckets_[channel];
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    const std::chrono::duration<double> elapsed = now - bucket.refreshed;
    bucket.tokens = std::min(burst, bucket.tokens + elapsed.count() * refill_per_second);
    bucket.refreshed = now;
    if (bucket.tokens >= 1.0) {
      bucket.tokens -= 1.0;
      co_return;
    }
    const auto wait = std::chrono::duration<double>((1.0 - bucket.tokens) / refill_per_second);
    asio::steady_timer timer{executor_, std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait)};
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
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

  co_await pace(channel);
  const auto result = co_await api_.call(method, arguments);
  if (!result.ok) {
    if (result.retryable) {
      spdlog::warn("slack: outbox message {} not delivered yet: {}", message.id, result.error);
      storage::transaction tx{db_};
      storage::outbox{db_}.count_attempt(message.id);
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
  storage::transaction tx{db_};
  storage::outbox{db_}.mark_sent(message.id, now_seconds(), posted_channel + "/" + ts);
  if (message.starts_thread && release) storage::release_repository{db_}.set_thread_ref(release->id, ts);
  tx.commit();
  ++delivered_;
  co_return true;
}

}  // namespace releasebot::integrations::slack
