// Decodes Bot Framework activities from Teams into what the bot acts on; decides nothing.
#pragma once

#include "bot/inbound.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace releasebot::integrations::teams {

// Where the conversation lives, as the connector needs it to answer or to write proactively.
struct conversation_reference {
  std::string service_url;      // e.g. https://smba.trafficmanager.net/amer/ (kept exactly as sent)
  std::string conversation_id;  // "19:…@thread.tacv2;messageid=…" or "a:…" for a 1:1 chat
  std::string conversation_type;  // personal | channel | groupChat
  std::string tenant_id;
  std::string bot_id;           // recipient.id ("28:<app id>")
  std::string bot_name;
};

// A person as an activity names them: in from, in a mention entity, in membersAdded/Removed.
struct member_ref {
  std::string chat_id;    // "29:…"
  std::string object_id;  // aadObjectId (may be absent)
  std::string name;
};

struct decoded_activity {
  std::string type;        // message | invoke | conversationUpdate | …
  std::string activity_id; // the activity's id (redeliveries repeat it)
  conversation_reference conversation;
  std::string user_id;      // from.aadObjectId (stable Entra object id); from.id if absent
  std::string user_chat_id; // from.id ("29:…"), for creating 1:1 chats
  std::string user_name;
  std::string reply_to_id;  // replyToId: for an invoke, the activity holding the card
  bool is_card_action = false;  // invoke adaptiveCard/action (Action.Execute)
  std::string team_id;              // channelData.team.id (activities in a team)
  std::string event_type;           // conversationUpdate: channelData.eventType (teamMemberAdded, …)
  std::string installation_action;  // installationUpdate: add | remove | add-upgrade | remove-upgrade
  bool bot_added = false;           // the bot is among membersAdded
  bool bot_removed = false;
  std::vector<member_ref> members_added;    // people, not the bot
  std::vector<member_ref> members_removed;
  std::vector<member_ref> mentioned;        // every person mentioned in a message (not the bot)
  // The event to apply; absent when there is nothing to do, with the reason in ignored_because.
  std::optional<bot::inbound> event;
  std::string ignored_because;
};

struct activity_error {
  std::string problem;  // one line, names the field; for a 400 answer and the log
};

// A channel conversation id names the thread after ";messageid=": {channel, thread} (thread empty
// when there is none).
std::pair<std::string, std::string> channel_and_thread(const std::string& conversation_id);

// `bot_app_id`: the bot's own Microsoft app id (mentions of "28:<id>" are the bot being addressed).
// Message text: every <at>…</at> mention of the bot is removed; a mention of anyone else becomes
// the neutral "<@aadObjectId>" form when the activity's mention entity carries the aadObjectId, else
// the name as plain words; HTML entities (&amp; &lt; &gt; &quot; &#39; &nbsp;) are decoded and tags
// (<p>, <div>, <br>) dropped. Invoke adaptiveCard/action: value.action.verb is the action_id,
// value.action.data.request (string) the value. platform "teams"; event_id = activity id.
std::variant<decoded_activity, activity_error> decode_activity(std::string_view body, std::string_view bot_app_id);

}  // namespace releasebot::integrations::teams
