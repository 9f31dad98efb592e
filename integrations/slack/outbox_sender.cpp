#include "integrations/slack/outbox_sender.hpp"

#include "integrations/slack/block_kit.hpp"

#include <spdlog/spdlog.h>

#include <set>

namespace asio = boost::asio;

namespace releasebot::integrations::slack {

namespace {

// platform_ref of a Slack message: "<channel>/<ts>".
std::pair<std::string, std::string> split_ref(const std::string& ref) {
  const auto slash = ref.find('/');
  if (slash == std::string::npos) return {};
  return {ref.substr(0, slash), ref.substr(slash + 1)};
}

// Slack's answers that mean a channel or person cannot be reached, with what to do about it.
std::string fix_for(const std::string& error_code) {
  static const std::set<std::string> not_a_member{"not_in_channel", "channel_not_found"};
  if (not_a_member.contains(error_code)) {
    return "releasebot is not in that channel — invite it there (/invite @releasebot) or set [slack] "
           "release_channel to a channel it is in";
  }
  if (error_code == "is_archived") return "that channel is archived — set [slack] release_channel to a current channel";
  if (error_code == "user_not_found" || error_code == "user_disabled" || error_code == "cannot_dm_bot") {
    return "Slack does not let me write to that person (" + error_code + ") — ask someone else";
  }
  return "Slack refused it (" + error_code + ")";
}

}  // namespace

bot::delivery_result classify_delivery(const api_result& result, bool posting) {
  if (result.ok) return bot::delivery_result::sent({});
  if (result.retry_after) return bot::delivery_result::rate_limited(*result.retry_after, result.error);
  // A refused or revoked token stops the whole app; the message waits for a good one.
  static const std::set<std::string> token_trouble{"invalid_auth", "not_authed", "token_revoked", "token_expired",
                                                   "account_inactive"};
  if (result.retryable || token_trouble.contains(result.error_code)) {
    // After a network failure or a 5xx a post may have been carried out.
    const bool known = !posting || !(result.error_code == "network" || result.error_code.starts_with("http_5"));
    return bot::delivery_result::retry(result.error, known);
  }
  return bot::delivery_result::refused(result.error, fix_for(result.error_code));
}

outbox_sender::outbox_sender(web_api& api, people_lookup& people) : api_{api}, people_{people} {}

asio::awaitable<std::string> outbox_sender::direct_channel(const std::string& user, api_result& failure) {
  if (const auto known = direct_channels_.find(user); known != direct_channels_.end()) co_return known->second;
  nlohmann::json arguments = nlohmann::json::object();
  arguments["users"] = user;
  const auto opened = co_await api_.call(std::string{"conversations.open"}, std::move(arguments), false, 1);
  if (!opened.ok) {
    failure = opened;
    spdlog::warn("slack: {}", opened.error);
    co_return std::string{};
  }
  const auto channel = opened.body["channel"].value("id", std::string{});
  if (!channel.empty()) direct_channels_[user] = channel;
  co_return channel;
}

asio::awaitable<outbox_sender::target> outbox_sender::address(const bot::delivery_request& request,
                                                              const commands::message& body) {
  const auto& message = request.message;
  target out;
  out.method = "chat.postMessage";
  out.arguments = nlohmann::json{{"text", render_fallback(body)},
                                 {"blocks", render_blocks(body)},
                                 {"unfurl_links", false},
                                 {"metadata",
                                  {{"event_type", "releasebot_outbox"}, {"event_payload", {{"outbox_id", message.id}}}}}};
  out.channel = message.channel;
  // An edit of an earlier post (a sign-off card, a deployment's progress) is chat.update on it.
  const auto [where, ts] = split_ref(request.earlier_ref.value_or(""));
  if (!ts.empty()) {
    out.method = "chat.update";
    out.channel = where;
    out.arguments["ts"] = ts;
    out.arguments.erase("metadata");
    out.arguments.erase("unfurl_links");
  } else if (message.destination == "direct") {
    out.channel = co_await direct_channel(message.recipient, out.open_failure);
  } else if (message.destination == "thread" && request.release && request.release->thread_ref) {
    out.arguments["thread_ts"] = *request.release->thread_ref;
    if (message.broadcast) out.arguments["reply_broadcast"] = true;
  }
  out.arguments["channel"] = out.channel;
  co_return out;
}

bool outbox_sender::can_find_earlier(const bot::delivery_request& request) const {
  // chat.update is safe to repeat; a new post is found again by the outbox id in its metadata.
  return !(request.earlier_ref && !split_ref(*request.earlier_ref).second.empty());
}

asio::awaitable<bot::delivery_result> outbox_sender::send(const bot::delivery_request& request) {
  auto body = request.body;
  co_await people_.name(body);
  auto to = co_await address(request, body);
  // conversations.open failed: a person Slack will not let us write to, or Slack is unreachable.
  if (to.channel.empty()) co_return classify_delivery(to.open_failure, false);
  const bool posting = to.method == "chat.postMessage";
  const auto result = co_await api_.call(to.method, to.arguments, false, 1);
  auto outcome = classify_delivery(result, posting);
  if (outcome.kind == bot::delivery_result::outcome::sent) {
    const auto ts = result.body.value("ts", std::string{});
    outcome.reference = result.body.value("channel", to.channel) + "/" + ts;
    outcome.thread_ref = ts;
    ++delivered_;
  }
  co_return outcome;
}

// A post that an earlier run started and never recorded may be in Slack already: look for our
// outbox id in the metadata of the messages posted since (a minute of margin for clock skew).
asio::awaitable<std::optional<bot::delivery_result>> outbox_sender::find_earlier(const bot::delivery_request& request,
                                                                                 storage::instant since) {
  constexpr int most_pages = 10;
  auto to = co_await address(request, request.body);
  if (to.channel.empty()) co_return bot::delivery_result::retry(to.open_failure.error);
  const auto id = request.message.id;
  const auto oldest = (since - std::chrono::minutes{1}).time_since_epoch().count();
  nlohmann::json arguments{{"channel", to.channel},
                           {"oldest", std::to_string(oldest) + ".000000"},
                           {"inclusive", true},
                           {"include_all_metadata", true},
                           {"limit", 200}};
  std::string method = "conversations.history";
  if (to.arguments.contains("thread_ts")) {
    method = "conversations.replies";
    arguments["ts"] = to.arguments["thread_ts"];
  }
  for (int page = 0; page < most_pages; ++page) {
    const auto result = co_await api_.call(method, arguments);
    if (!result.ok) {
      if (result.retryable) co_return bot::delivery_result::retry(result.error);
      // Cannot read the channel (e.g. a missing *:history scope): posting again is all we can do.
      spdlog::warn("slack: cannot check whether outbox message {} was posted before ({}); posting it", id, result.error);
      co_return std::nullopt;
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
          const auto ts = posted.value("ts", std::string{});
          co_return bot::delivery_result::sent(to.channel + "/" + ts, ts);
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
  co_return std::nullopt;
}

}  // namespace releasebot::integrations::slack
