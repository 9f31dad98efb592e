#include "integrations/teams/teams_app.hpp"

#include "integrations/net/json_reader.hpp"
#include "integrations/teams/adaptive_card.hpp"
#include "integrations/teams/jwt.hpp"
#include "storage/conversation_directory.hpp"
#include "storage/release_repository.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace asio = boost::asio;

namespace releasebot::integrations::teams {

namespace {

std::chrono::sys_seconds now_seconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

net::server_response json_answer(int status, const nlohmann::json& body) { return {status, "application/json; charset=utf-8", body.dump()}; }

net::server_response refusal(int status, const std::string& reason) {
  return json_answer(status, {{"error", reason}});
}

// A channel conversation id names the thread after ";messageid="; the channel is what precedes it.
std::pair<std::string, std::string> channel_and_thread(const std::string& conversation_id) {
  const auto at = conversation_id.find(";messageid=");
  if (at == std::string::npos) return {conversation_id, {}};
  return {conversation_id.substr(0, at), conversation_id.substr(at + 11)};
}

std::string reference_of(const std::string& conversation, const std::string& activity) {
  return nlohmann::json{{"conversation", conversation}, {"activity", activity}}.dump();
}

}  // namespace

teams_app::teams_app(asio::any_io_executor executor, storage::database& db, dispatch_function dispatch,
                     std::function<void()> after_change, teams_settings settings)
    : executor_{executor},
      db_{db},
      dispatch_{std::move(dispatch)},
      after_change_{std::move(after_change)},
      settings_{std::move(settings)},
      tls_{net::make_client_tls_context()},
      http_{executor, tls_},
      keys_{http_, settings_.openid_metadata_url},
      connector_{executor, http_, settings_},
      pump_{executor, db, "teams", [this](const storage::outbox_message& message) { return deliver(message); }} {
  if (settings_.allowed_tenants.empty()) settings_.allowed_tenants.push_back(settings_.tenant_id);
  server_ = std::make_unique<net::http_server>(
      executor_, settings_.listen, [this](net::server_request request) { return on_request(std::move(request)); });
  spdlog::info("teams: messaging endpoint on http://{}/api/messages", settings_.listen);
}

teams_app::~teams_app() = default;

void teams_app::stop() {
  server_->stop();
  pump_.stop();
}

void teams_app::deliver_soon() { pump_.poke(); }

asio::awaitable<void> teams_app::run() {
  asio::co_spawn(executor_, pump_.run(), asio::detached);
  co_await server_->run();
}

asio::awaitable<net::server_response> teams_app::on_request(net::server_request request) {
  if (request.target != "/api/messages") co_return refusal(404, "not found");
  if (request.method != "POST") co_return refusal(405, "POST only");
  const auto token = bearer_token(request.headers["authorization"]);
  if (token.empty()) {
    spdlog::warn("teams: request without a bearer token refused");
    co_return refusal(401, "missing bearer token");
  }
  auto decoded_or_error = decode_activity(request.body, settings_.app_id);
  if (const auto* problem = std::get_if<activity_error>(&decoded_or_error)) {
    spdlog::warn("teams: malformed activity refused: {}", problem->problem);
    co_return refusal(400, problem->problem);
  }
  auto decoded = std::get<decoded_activity>(std::move(decoded_or_error));
  const auto& where = decoded.conversation;

  token_expectations expected;
  expected.audience = settings_.app_id;
  expected.service_url = where.service_url;
  auto keys = co_await keys_.keys(false);
  if (!keys) co_return refusal(503, "signing keys unavailable");
  auto checked = validate_token(token, *keys, expected, std::chrono::system_clock::now());
  if (const auto* rejection = std::get_if<token_rejection>(&checked); rejection && rejection->unknown_key) {
    keys = co_await keys_.keys(true);
    if (keys) checked = validate_token(token, *keys, expected, std::chrono::system_clock::now());
  }
  if (const auto* rejection = std::get_if<token_rejection>(&checked)) {
    spdlog::warn("teams: token refused: {}", rejection->reason);
    co_return refusal(401, "unauthorized");
  }
  if (std::find(settings_.allowed_tenants.begin(), settings_.allowed_tenants.end(), where.tenant_id) ==
      settings_.allowed_tenants.end()) {
    spdlog::warn("teams: activity from tenant '{}' refused: not in the allowed tenants", where.tenant_id);
    co_return refusal(403, "tenant not allowed");
  }
  if (!connector_.host_allowed(where.service_url)) {
    spdlog::warn("teams: activity with service URL {} refused: host not allowed", where.service_url);
    co_return refusal(403, "service URL not allowed");
  }

  {
    storage::transaction tx{db_};
    storage::conversation_directory directory{db_, "teams"};
    const auto [channel, thread] = channel_and_thread(where.conversation_id);
    directory.remember_conversation({channel, where.service_url, where.tenant_id, where.conversation_type}, now_seconds());
    if (!decoded.user_id.empty() && !decoded.user_chat_id.empty()) {
      std::optional<std::string> direct;
      if (where.conversation_type == "personal") direct = where.conversation_id;
      directory.remember_person({decoded.user_id, decoded.user_chat_id, direct, where.service_url, where.tenant_id},
                                now_seconds());
    }
    tx.commit();
  }

  if (!decoded.event) co_return json_answer(200, nlohmann::json::object());
  auto event = *decoded.event;
  const auto [channel, thread] = channel_and_thread(where.conversation_id);
  event.channel = channel;
  if (event.thread.empty()) event.thread = thread;
  const auto result = dispatch_(event);
  if (result.changed) {
    deliver_soon();
    if (after_change_) after_change_();
  }
  if (decoded.is_card_action) {
    if (result.refused) {
      co_return json_answer(200, {{"statusCode", 200},
                                  {"type", "application/vnd.microsoft.activity.message"},
                                  {"value", render_text(result.reply)}});
    }
    co_return json_answer(200, {{"statusCode", 200},
                                {"type", "application/vnd.microsoft.card.adaptive"},
                                {"value", render_card(result.reply)}});
  }
  // Answered after the 200, so Teams never waits on the connector.
  asio::co_spawn(executor_, answer(where, decoded.activity_id, result.reply), asio::detached);
  co_return json_answer(200, nlohmann::json::object());
}

asio::awaitable<void> teams_app::answer(conversation_reference where, std::string reply_to_id,
                                        commands::message reply) {
  auto activity = render_activity(reply);
  activity["replyToId"] = reply_to_id;
  const auto sent = co_await connector_.send(where.service_url, where.conversation_id, std::move(activity));
  if (!sent.ok) spdlog::warn("teams: could not answer in {}: {}", where.conversation_id, sent.error);
}

void teams_app::report_undeliverable(const storage::outbox_message& message, const connector_result& result) {
  std::string fix;
  if (result.error_code == "BotNotInConversationRoster") {
    fix = "releasebot is not a member there — add the app to that team or chat";
  } else if (result.error_code == "ConversationNotFound") {
    fix = "that conversation no longer exists — set [teams] release_channel to a current channel";
  } else {
    fix = "Teams refused it (" + result.error_code + ")";
  }
  storage::release_repository releases{db_};
  const auto release = message.release_id ? releases.find(*message.release_id) : std::nullopt;
  if (!release) return;
  commands::message_builder notice{commands::message_kind::error};
  notice.text("⚠️ I could not deliver a message about ").strong(release->version).text(" to " +
                                                                                     (message.destination == "direct"
                                                                                          ? "@" + message.recipient
                                                                                          : message.channel) +
                                                                                     ": " + fix + ".");
  storage::outbox_message report;
  report.platform = "teams";
  report.release_id = release->id;
  report.channel = release->channel;
  report.created_at = now_seconds();
  report.payload = nlohmann::json(notice.build()).dump();
  // Tell the coordinator directly when the thread itself is what failed, else the thread.
  if (message.destination == "direct" && message.recipient != release->coordinator) {
    report.destination = "thread";
  } else {
    report.destination = "direct";
    report.recipient = release->coordinator;
    if (message.destination == "direct") return;  // the coordinator is unreachable too: the log says it
  }
  storage::outbox{db_}.enqueue(report);
}

asio::awaitable<bool> teams_app::deliver(const storage::outbox_message& message) {
  commands::message body;
  std::optional<storage::release_record> release;
  std::optional<storage::conversation_address> channel_address;
  std::optional<storage::person_address> person;
  std::optional<std::string> earlier;
  {
    storage::transaction tx{db_};
    try {
      body = nlohmann::json::parse(message.payload).get<commands::message>();
    } catch (const std::exception& error) {
      storage::outbox{db_}.mark_failed(message.id, std::string{"unreadable payload: "} + error.what());
      tx.commit();
      co_return true;
    }
    if (message.release_id) release = storage::release_repository{db_}.find(*message.release_id);
    storage::conversation_directory directory{db_, "teams"};
    channel_address = directory.conversation(message.channel);
    if (message.destination == "direct") person = directory.person(message.recipient);
    if (message.updates) earlier = storage::outbox{db_}.platform_ref_of(*message.updates);
  }

  std::string service_url;
  std::string conversation;
  if (message.destination == "direct") {
    if (!person) {
      storage::transaction tx{db_};
      storage::outbox{db_}.mark_failed(message.id, "never talked with " + message.recipient +
                                                       " in Teams, so there is no way to write to them first");
      tx.commit();
      spdlog::warn("teams: cannot write first to {}: they have not messaged the bot yet", message.recipient);
      co_return true;
    }
    service_url = person->service_url;
    if (person->direct_conversation_id) {
      conversation = *person->direct_conversation_id;
    } else {
      const auto created = co_await connector_.create_conversation(person->service_url, person->chat_id, person->tenant_id);
      if (!created.ok) {
        if (created.retryable) co_return false;
        storage::transaction tx{db_};
        storage::outbox{db_}.mark_failed(message.id, created.error);
        tx.commit();
        co_return true;
      }
      conversation = created.body.value("id", std::string{});
      storage::transaction tx{db_};
      storage::conversation_directory{db_, "teams"}.set_direct_conversation(message.recipient, conversation);
      tx.commit();
    }
  } else {
    if (!channel_address) {
      storage::transaction tx{db_};
      storage::outbox{db_}.mark_failed(message.id, "no Teams conversation " + message.channel + " known");
      tx.commit();
      co_return true;
    }
    service_url = channel_address->service_url;
    conversation = message.channel;
    if (message.destination == "thread" && release && release->thread_ref) {
      conversation += ";messageid=" + *release->thread_ref;
    }
  }

  auto activity = render_activity(body);
  connector_result result;
  std::optional<std::string> updated_ref;
  const auto previous = earlier ? net::parse_json_or_discarded(*earlier) : nlohmann::json{};
  if (previous.is_object() && previous.contains("activity")) {
    updated_ref = *earlier;
    result = co_await connector_.update(service_url, previous.value("conversation", conversation),
                                        previous.value("activity", std::string{}), std::move(activity));
  } else {
    result = co_await connector_.send(service_url, conversation, std::move(activity));
  }
  storage::transaction tx{db_};
  if (!result.ok) {
    if (result.retryable) {
      storage::outbox{db_}.count_attempt(message.id);
      tx.commit();
      spdlog::warn("teams: outbox message {} not delivered yet: {}", message.id, result.error);
      co_return false;
    }
    spdlog::error("teams: outbox message {} refused: {}", message.id, result.error);
    storage::outbox{db_}.mark_failed(message.id, result.error);
    report_undeliverable(message, result);
    tx.commit();
    co_return true;
  }
  const auto activity_id = result.body.is_object() ? result.body.value("id", std::string{}) : std::string{};
  storage::outbox{db_}.mark_sent(message.id, now_seconds(), updated_ref.value_or(reference_of(conversation, activity_id)));
  if (message.starts_thread && release) storage::release_repository{db_}.set_thread_ref(release->id, activity_id);
  tx.commit();
  co_return true;
}

}  // namespace releasebot::integrations::teams
