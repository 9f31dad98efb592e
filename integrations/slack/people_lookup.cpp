#include "integrations/slack/people_lookup.hpp"

#include "storage/people.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

namespace asio = boost::asio;

namespace releasebot::integrations::slack {

namespace {

storage::instant now_seconds() { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

std::string string_at(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

// The ids Slack gives people: U… and W… (Enterprise Grid).
bool is_slack_user(std::string_view id) {
  return id.size() >= 2 && (id.front() == 'U' || id.front() == 'W');
}

}  // namespace

slack_person person_from_users_info(const nlohmann::json& user) {
  slack_person out;
  const auto id = string_at(user, "id");
  if (id.empty()) return out;
  const auto profile = user.is_object() && user.contains("profile") ? user["profile"] : nlohmann::json::object();
  storage::person_record record;
  record.user_id = id;
  for (const auto* candidate : {&profile, &user}) {
    for (const char* key : {"display_name", "real_name"}) {
      if (record.display_name.empty()) record.display_name = string_at(*candidate, key);
    }
  }
  if (record.display_name.empty()) record.display_name = string_at(user, "name");
  record.email = string_at(profile, "email");
  record.team_id = string_at(user, "team_id");
  out.record = std::move(record);
  out.time_zone = string_at(user, "tz");
  return out;
}

namespace {
constexpr auto remember_for = std::chrono::minutes{10};
constexpr std::size_t most_remembered = 10'000;
}  // namespace

asio::awaitable<slack_person> people_lookup::person(const std::string& user) {
  const auto now_steady = std::chrono::steady_clock::now();
  if (const auto hit = recent_.find(user); hit != recent_.end() && now_steady - hit->second.read_at < remember_for) {
    co_return hit->second.person;
  }
  if (recent_.size() >= most_remembered) recent_.clear();
  auto found = co_await read(user);
  recent_[user] = {found, now_steady};
  co_return found;
}

asio::awaitable<slack_person> people_lookup::read(const std::string& user) {
  slack_person known;
  {
    storage::transaction tx{db_};
    known.record = storage::people_directory{db_, "slack"}.find(user);
    known.time_zone = storage::people{db_}.time_zone_of(user).value_or("");
  }
  const auto now = now_seconds();
  const bool fresh = known.record && known.record->refreshed_at && now - *known.record->refreshed_at < refresh_after;
  if (fresh || !is_slack_user(user)) co_return known;
  if (known.record) {
    // Known but old: the event goes on with what is stored; Slack is asked beside it.
    const auto executor = co_await asio::this_coro::executor;
    if (refreshing_.insert(user).second) {
      asio::co_spawn(
          executor,
          [this, user, known]() -> asio::awaitable<void> {
            try {
              recent_[user] = {co_await ask_slack(user, known), std::chrono::steady_clock::now()};
            } catch (const std::exception& failure) {
              spdlog::warn("slack: could not refresh {}: {}", user, failure.what());
            }
            refreshing_.erase(user);
          },
          asio::detached);
    }
    co_return known;
  }
  co_return co_await ask_slack(user, known);
}

asio::awaitable<slack_person> people_lookup::ask_slack(const std::string& user, const slack_person& known) {
  const auto now = now_seconds();
  nlohmann::json arguments = nlohmann::json::object();
  arguments["user"] = user;
  const auto info = co_await api_.call(std::string{"users.info"}, std::move(arguments), true, 1);
  if (!info.ok) {
    spdlog::warn("slack: {}", info.error);
    co_return known;  // what is stored, however old; asked again next time
  }
  auto fetched = person_from_users_info(info.body["user"]);
  if (!fetched.record) co_return known;
  storage::transaction tx{db_, storage::durability::process_crash};
  storage::people_directory{db_, "slack"}.remember(*fetched.record, now, true);
  if (!fetched.time_zone.empty()) storage::people{db_}.set_time_zone(user, fetched.time_zone, now);
  tx.commit();
  if (fetched.time_zone.empty()) fetched.time_zone = known.time_zone;
  co_return fetched;
}

asio::awaitable<void> people_lookup::name(commands::message& body) {
  for (const auto& user : commands::mentioned_people(body)) {
    const auto found = co_await person(user);
    const auto display = found.record ? found.record->display_name : std::string{};
    commands::name_people(body, [&](commands::span& piece) {
      if (piece.value == user) piece.name = display;
    });
  }
}

void people_lookup::name_from_directory(commands::message& body) {
  const auto people = commands::mentioned_people(body);
  if (people.empty()) return;
  std::optional<storage::transaction> tx;
  for (const auto& user : people) {
    std::string display;
    if (const auto hit = recent_.find(user); hit != recent_.end() && hit->second.person.record) {
      display = hit->second.person.record->display_name;
    } else {
      if (!tx) tx.emplace(db_);
      if (const auto found = storage::people_directory{db_, "slack"}.find(user)) display = found->display_name;
    }
    commands::name_people(body, [&](commands::span& piece) {
      if (piece.value == user) piece.name = display;
    });
  }
}

}  // namespace releasebot::integrations::slack
