#include "integrations/teams/outbox_sender.hpp"

#include "integrations/net/json_reader.hpp"
#include "integrations/teams/adaptive_card.hpp"
#include "storage/conversation_directory.hpp"
#include "storage/people_directory.hpp"

#include <spdlog/spdlog.h>

namespace asio = boost::asio;

namespace releasebot::integrations::teams {

namespace {

std::string reference_of(const std::string& conversation, const std::string& activity) {
  return nlohmann::json{{"conversation", conversation}, {"activity", activity}}.dump();
}

}  // namespace

bot::delivery_result classify_delivery(const connector_result& result) {
  if (result.ok) return bot::delivery_result::sent({});
  if (result.retry_after) return bot::delivery_result::rate_limited(*result.retry_after, result.error);
  if (result.retryable) return bot::delivery_result::retry(result.error);
  if (result.error_code == "BotNotInConversationRoster") {
    return bot::delivery_result::refused(result.error, "releasebot is not a member there — add the app to that team or chat");
  }
  if (result.error_code == "ConversationNotFound") {
    return bot::delivery_result::refused(
        result.error, "that conversation no longer exists — set [teams] release_channel to a current channel");
  }
  return bot::delivery_result::refused(result.error, "Teams refused it (" + result.error_code + ")");
}

asio::awaitable<bot::delivery_result> outbox_sender::send(const bot::delivery_request& request) {
  const auto& message = request.message;
  std::optional<storage::conversation_address> channel_address;
  {
    storage::transaction tx{db_};
    channel_address = storage::conversation_directory{db_, "teams"}.conversation(message.channel);
  }

  std::string service_url;
  std::string conversation;
  if (message.destination == "direct") {
    const auto person = co_await people_.find_or_fetch(message.recipient);
    const auto name = storage::readable_name(person);
    if (!person || person->chat_id.empty() || person->service_url.empty()) {
      spdlog::warn("teams: cannot write first to {}: not in the roster of any team releasebot is in", message.recipient);
      co_return bot::delivery_result::unreachable(
          "not in the roster of any team releasebot is in, and never talked with it",
          "releasebot cannot reach " + name + " in Teams — add the app to a team they are in, or install it for them "
          "(Teams admin center → Manage apps → releasebot → Install for users)");
    }
    service_url = person->service_url;
    if (person->direct_conversation_id) {
      conversation = *person->direct_conversation_id;
    } else {
      const auto created = co_await connector_.create_conversation(person->service_url, person->chat_id,
                                                                   person->tenant_id);
      if (!created.ok) {
        auto outcome = classify_delivery(created);
        if (outcome.kind == bot::delivery_result::outcome::refused) {
          co_return bot::delivery_result::unreachable(
              "Teams refused a chat with them (" + created.error_code + ")",
              "Teams does not let releasebot start a chat with " + name + " — install the app for them (Teams admin "
              "center → Manage apps → releasebot → Install for users) or add it to a team they are in");
        }
        co_return outcome;
      }
      conversation = created.body.value("id", std::string{});
      storage::transaction tx{db_};
      storage::people_directory{db_, "teams"}.set_direct_conversation(person->user_id, conversation);
      tx.commit();
    }
  } else {
    if (!channel_address) {
      co_return bot::delivery_result::refused(
          "no Teams conversation " + message.channel + " known",
          "releasebot has not seen that channel — add the app to its team and mention it there once");
    }
    service_url = channel_address->service_url;
    conversation = message.channel;
    if (message.destination == "thread" && request.release && request.release->thread_ref) {
      conversation += ";messageid=" + *request.release->thread_ref;
    }
  }

  auto body = request.body;
  people_.name(body);
  auto activity = render_activity(body);
  connector_result result;
  const auto previous = request.earlier_ref ? net::parse_json_or_discarded(*request.earlier_ref) : nlohmann::json{};
  const bool updating = previous.is_object() && previous.contains("activity");
  if (updating) {
    result = co_await connector_.update(service_url, previous.value("conversation", conversation),
                                        previous.value("activity", std::string{}), std::move(activity));
  } else {
    result = co_await connector_.send(service_url, conversation, std::move(activity));
  }
  auto outcome = classify_delivery(result);
  if (outcome.kind == bot::delivery_result::outcome::sent) {
    const auto activity_id = result.body.is_object() ? result.body.value("id", std::string{}) : std::string{};
    outcome.reference = updating ? *request.earlier_ref : reference_of(conversation, activity_id);
    outcome.thread_ref = activity_id;
  }
  co_return outcome;
}

}  // namespace releasebot::integrations::teams
