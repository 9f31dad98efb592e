#include "integrations/teams/roster.hpp"

#include "storage/conversation_directory.hpp"
#include "storage/outbox.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <memory>

namespace asio = boost::asio;

namespace releasebot::integrations::teams {

namespace {

storage::instant now_seconds() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

std::string text_at(const nlohmann::json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

// Names go between <at> and </at> and into a mention entity verbatim: no angle brackets (the
// directory keeps them as Teams gave them; they go when a message is named).
std::string mention_safe(std::string name) {
  std::erase_if(name, [](char c) { return c == '<' || c == '>'; });
  return name;
}


}  // namespace

std::optional<storage::person_record> person_from_member(const nlohmann::json& member) {
  if (!member.is_object()) return std::nullopt;
  storage::person_record person;
  person.chat_id = text_at(member, "id");
  if (!person.chat_id.starts_with("29:")) return std::nullopt;
  person.user_id = text_at(member, "objectId");
  if (person.user_id.empty()) person.user_id = text_at(member, "aadObjectId");
  if (person.user_id.empty()) person.user_id = person.chat_id;
  person.display_name = text_at(member, "name");
  if (person.display_name.empty()) {
    const auto given = text_at(member, "givenName");
    const auto surname = text_at(member, "surname");
    person.display_name = given.empty() || surname.empty() ? given + surname : given + " " + surname;
  }
  person.email = text_at(member, "email");
  person.principal_name = text_at(member, "userPrincipalName");
  person.tenant_id = text_at(member, "tenantId");
  return person;
}

std::vector<std::string> roster::remember(const decoded_activity& activity) {
  const auto& where = activity.conversation;
  const auto now = now_seconds();
  std::vector<std::string> reachable;
  storage::transaction tx{db_, storage::durability::process_crash};
  storage::people_directory people{db_, "teams"};
  storage::conversation_directory conversations{db_, "teams"};
  const auto [channel, thread] = channel_and_thread(where.conversation_id);
  conversations.remember_conversation({channel, where.service_url, where.tenant_id, where.conversation_type}, now);
  const bool personal = where.conversation_type == "personal";
  if (!activity.user_id.empty() && activity.user_chat_id.starts_with("29:")) {
    storage::person_record sender;
    sender.user_id = activity.user_id;
    sender.chat_id = activity.user_chat_id;
    sender.display_name = activity.user_name;
    sender.service_url = where.service_url;
    sender.tenant_id = where.tenant_id;
    sender.team_id = activity.team_id;
    if (personal) sender.direct_conversation_id = where.conversation_id;
    const bool was_reachable = [&] {
      const auto known = people.find(sender.user_id);
      return known && known->direct_conversation_id;
    }();
    people.remember(sender, now);
    if (personal && !was_reachable) reachable.push_back(sender.user_id);
  }
  const auto remember_member = [&](const member_ref& member) {
    storage::person_record person;
    person.user_id = member.object_id;
    if (person.user_id.empty()) {
      // Mention entities carry the chat id only: a person already known keeps their stable id.
      const auto known = people.find_by_chat_id(member.chat_id);
      person.user_id = known ? known->user_id : member.chat_id;
    }
    person.chat_id = member.chat_id;
    person.display_name = member.name;
    person.service_url = where.service_url;
    person.tenant_id = where.tenant_id;
    person.team_id = activity.team_id;
    people.remember(person, now);
    return person.user_id;
  };
  for (const auto& member : activity.mentioned) remember_member(member);
  for (const auto& member : activity.members_added) {
    const auto id = remember_member(member);
    // Added to a team the bot is in, or installed the app for themselves: now reachable.
    reachable.push_back(id);
  }
  for (const auto& member : activity.members_removed) {
    const auto id = member.object_id.empty() ? member.chat_id : member.object_id;
    if (const auto known = people.find_by_chat_id(member.chat_id)) {
      people.left_team(known->user_id, now);
    } else {
      people.left_team(id, now);
    }
  }
  if (activity.type == "installationUpdate" && personal && activity.installation_action.starts_with("add") &&
      !activity.user_id.empty()) {
    reachable.push_back(activity.user_id);
  }
  int requeued = 0;
  for (const auto& id : reachable) requeued += storage::outbox{db_}.requeue_waiting("teams", id);
  if (requeued > 0) spdlog::info("teams: {} message(s) held for people now reachable go out again", requeued);
  tx.commit();
  return reachable;
}

asio::awaitable<std::optional<storage::person_record>> roster::fetch(std::string service_url,
                                                                     std::string conversation_id,
                                                                     std::string member_id, std::string team_id) {
  const auto answer = co_await connector_.member(service_url, conversation_id, member_id);
  if (!answer.ok) {
    spdlog::warn("teams: could not look up a member of {}: {}", conversation_id, answer.error);
    co_return std::nullopt;
  }
  auto person = person_from_member(answer.body);
  if (!person) co_return std::nullopt;
  person->service_url = service_url;
  person->team_id = team_id;
  storage::transaction tx{db_, storage::durability::process_crash};
  storage::people_directory people{db_, "teams"};
  people.remember(*person, now_seconds(), true);
  auto stored = people.find(person->user_id);
  storage::outbox{db_}.requeue_waiting("teams", person->user_id);
  tx.commit();
  co_return stored;
}

// The ack waits on this look-up, so it has a deadline; a late answer is still stored (and the
// 29: id adopted into the object id then).
asio::awaitable<std::optional<storage::person_record>> roster::fetch_within(std::string service_url,
                                                                            std::string conversation_id,
                                                                            std::string member_id, std::string team_id) {
  struct pending {
    explicit pending(asio::any_io_executor executor) : timer{executor} {}
    asio::steady_timer timer;
    std::optional<storage::person_record> result;
    bool done = false;
  };
  auto executor = co_await asio::this_coro::executor;
  auto state = std::make_shared<pending>(executor);
  state->timer.expires_after(lookup_deadline);
  asio::co_spawn(
      executor,
      [this, state, service_url, conversation_id, member_id, team_id]() -> asio::awaitable<void> {
        state->result = co_await fetch(service_url, conversation_id, member_id, team_id);
        state->done = true;
        state->timer.cancel();
      },
      asio::detached);
  co_await state->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!state->done) spdlog::warn("teams: the look-up of {} is slow; going on with the chat id", member_id);
  co_return state->done ? state->result : std::nullopt;
}

asio::awaitable<void> roster::resolve_mentions(bot::inbound& event, const decoded_activity& activity) {
  const auto& where = activity.conversation;
  const auto lookup_in = activity.team_id.empty() ? channel_and_thread(where.conversation_id).first : activity.team_id;
  if (event.user.starts_with("29:")) {
    // A sender without aadObjectId (some clients): the directory may know who it is.
    storage::transaction tx{db_};
    const auto known = storage::people_directory{db_, "teams"}.find_by_chat_id(event.user);
    if (known) event.user = known->user_id;
  }
  std::size_t at = 0;
  while ((at = event.text.find("<@29:", at)) != std::string::npos) {
    const auto end = event.text.find('>', at);
    if (end == std::string::npos) break;
    const auto chat_id = event.text.substr(at + 2, end - at - 2);
    std::optional<storage::person_record> known;
    {
      storage::transaction tx{db_};
      known = storage::people_directory{db_, "teams"}.find_by_chat_id(chat_id);
    }
    if (!known || known->user_id == chat_id) {
      auto fetched = co_await fetch_within(where.service_url, lookup_in, chat_id, activity.team_id);
      if (fetched) known = std::move(fetched);
    }
    if (known && known->user_id != chat_id) {
      event.text.replace(at + 2, chat_id.size(), known->user_id);
      at += 2 + known->user_id.size();
    } else {
      at = end;  // stays the chat id: still a person the bot can write to
    }
  }
}

asio::awaitable<roster_outcome> roster::read_team(std::string service_url, std::string team_id,
                                                  std::string tenant_id) {
  roster_outcome outcome;
  std::string continuation;
  constexpr int most_pages = 500;  // 100,000 members at 200 a page: more is a loop, not a team
  for (int page = 0; page < most_pages; ++page) {
    const auto answer = co_await connector_.members_page(service_url, team_id, continuation);
    if (!answer.ok) {
      outcome.problem = answer.status == 403 || answer.status == 404
                            ? "the Bot Connector refused the roster of team " + team_id + " (" + answer.error_code +
                                  ") — people are learnt as they write or are mentioned"
                            : answer.error;
      spdlog::warn("teams: could not read the roster: {}", outcome.problem);
      co_return outcome;
    }
    const auto now = now_seconds();
    storage::transaction tx{db_, storage::durability::process_crash};
    storage::people_directory people{db_, "teams"};
    storage::outbox queue{db_};
    if (const auto members = answer.body.find("members"); members != answer.body.end() && members->is_array()) {
      for (const auto& member : *members) {
        auto person = person_from_member(member);
        if (!person) continue;
        person->service_url = service_url;
        person->team_id = team_id;
        if (person->tenant_id.empty()) person->tenant_id = tenant_id;
        people.remember(*person, now, true);
        queue.requeue_waiting("teams", person->user_id);
        ++outcome.members;
      }
    }
    tx.commit();
    continuation = answer.body.is_object() ? text_at(answer.body, "continuationToken") : std::string{};
    if (continuation.empty()) break;
  }
  spdlog::info("teams: read the roster of team {}: {} member(s)", team_id, outcome.members);
  co_return outcome;
}

asio::awaitable<void> roster::read_members(std::string service_url, std::string team_id,
                                           std::vector<member_ref> members) {
  for (const auto& member : members) co_await fetch(service_url, team_id, member.chat_id, team_id);
}

asio::awaitable<std::optional<storage::person_record>> roster::find_or_fetch(const std::string& user_id) {
  std::optional<storage::person_record> known;
  std::optional<storage::person_record> any_with_team;
  {
    storage::transaction tx{db_};
    storage::people_directory people{db_, "teams"};
    known = people.find(user_id);
    if (!known) known = people.find_by_address(user_id);
    if (!known || known->chat_id.empty()) any_with_team = people.anyone_in_a_team();
  }
  if (known && !known->chat_id.empty() && !known->service_url.empty()) co_return known;
  if (!any_with_team) co_return known;
  auto fetched = co_await fetch(any_with_team->service_url, any_with_team->team_id, user_id, any_with_team->team_id);
  co_return fetched ? fetched : known;
}

void roster::name(commands::message& body) {
  storage::transaction tx{db_};
  storage::people_directory people{db_, "teams"};
  commands::name_people(body, [&](commands::span& piece) {
    auto known = people.find(piece.value);
    if (!known && piece.value.starts_with("29:")) known = people.find_by_chat_id(piece.value);
    if (!known) known = people.find_by_address(piece.value);  // an admin configured by UPN
    piece.name = mention_safe(storage::readable_name(known));
    if (known && !known->chat_id.empty()) piece.value = known->chat_id;
  });
}

}  // namespace releasebot::integrations::teams
