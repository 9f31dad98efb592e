// Slack's directory as the bot reads it: users.info for a person not in the people directory or
// last read more than a day ago, kept in storage (display name, e-mail, time zone), and the names
// put into messages before they are rendered (Slack shows <@U…> by name itself; the fallback
// text and notifications need the words).
#pragma once

#include "commands/message.hpp"
#include "integrations/slack/web_api.hpp"
#include "storage/database.hpp"
#include "storage/people_directory.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace releasebot::integrations::slack {

struct slack_person {
  std::optional<storage::person_record> record;
  std::string time_zone;
};

class people_lookup {
public:
  people_lookup(web_api& api, storage::database& db) : api_{api}, db_{db} {}

  boost::asio::awaitable<slack_person> person(const std::string& user);
  // Every mention's span.name: the display name, or empty when Slack could not say (the
  // renderer then keeps <@U…>, which Slack shows by name).
  boost::asio::awaitable<void> name(commands::message& body);
  // The same from what is stored only, asking Slack nothing (for answers inside an ack).
  void name_from_directory(commands::message& body);

  static constexpr std::chrono::hours refresh_after{24};

private:
  boost::asio::awaitable<slack_person> read(const std::string& user);
  boost::asio::awaitable<slack_person> ask_slack(const std::string& user, const slack_person& known);

  struct remembered {
    slack_person person;
    std::chrono::steady_clock::time_point read_at;
  };

  web_api& api_;
  storage::database& db_;
  // What was read (from storage or Slack) lately: every event and every message names people,
  // and most are the same few. Bounded; dropped whole when full.
  std::unordered_map<std::string, remembered> recent_;
  std::unordered_set<std::string> refreshing_;
};

// Slack's users.info answer as a directory record, and the person's zone.
slack_person person_from_users_info(const nlohmann::json& user);

}  // namespace releasebot::integrations::slack
