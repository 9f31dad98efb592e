#include "integrations/teams/activity.hpp"

#include "commands/parser.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace {

using namespace releasebot::integrations::teams;
using nlohmann::json;

constexpr std::string_view app_id = "11111111-2222-3333-4444-555555555555";

decoded_activity decoded(std::string_view body) {
  auto result = decode_activity(body, app_id);
  if (const auto* error = std::get_if<activity_error>(&result)) FAIL("unexpected activity_error: " << error->problem);
  return std::get<decoded_activity>(std::move(result));
}

std::string problem(std::string_view body) {
  auto result = decode_activity(body, app_id);
  REQUIRE(std::holds_alternative<activity_error>(result));
  const auto& text = std::get<activity_error>(result).problem;
  CHECK_FALSE(text.empty());
  CHECK(text.find('\n') == std::string::npos);
  return text;
}

// What the bot receives when someone writes "@releasebot status 4.2" in a team channel.
constexpr std::string_view channel_mention = R"({
  "text": "<at>releasebot</at> status 4.2\n",
  "textFormat": "plain",
  "attachments": [
    {
      "contentType": "text/html",
      "content": "<div><div><span itemscope=\"\" itemtype=\"http://schema.skype.com/Mention\" itemid=\"0\">releasebot</span> status 4.2</div>\n</div>"
    }
  ],
  "type": "message",
  "timestamp": "2025-01-09T17:00:34.1234567Z",
  "localTimestamp": "2025-01-09T12:00:34.1234567-05:00",
  "id": "1736442034123",
  "channelId": "msteams",
  "serviceUrl": "https://smba.trafficmanager.net/amer/",
  "from": {
    "id": "29:1AbCdEfGhIjKlMnOpQrStUvWxYz",
    "name": "Quinn Jones",
    "aadObjectId": "6a1b2c3d-0000-4000-8000-00000000aaaa"
  },
  "conversation": {
    "isGroup": true,
    "conversationType": "channel",
    "tenantId": "tenant-1",
    "id": "19:abc123def456@thread.tacv2;messageid=1736442034123"
  },
  "recipient": {
    "id": "28:11111111-2222-3333-4444-555555555555",
    "name": "releasebot"
  },
  "entities": [
    {
      "mentioned": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
      "text": "<at>releasebot</at>",
      "type": "mention"
    },
    {
      "locale": "en-US",
      "country": "US",
      "platform": "Web",
      "timezone": "America/New_York",
      "type": "clientInfo"
    }
  ],
  "channelData": {
    "teamsChannelId": "19:abc123def456@thread.tacv2",
    "teamsTeamId": "19:team0000@thread.tacv2",
    "channel": {"id": "19:abc123def456@thread.tacv2"},
    "team": {"id": "19:team0000@thread.tacv2"},
    "tenant": {"id": "tenant-1"}
  },
  "locale": "en-US",
  "localTimezone": "America/New_York"
})";

// A 1:1 chat with the bot: no mention needed.
constexpr std::string_view personal_message = R"({
  "text": "status 4.2.0",
  "textFormat": "plain",
  "type": "message",
  "timestamp": "2025-01-09T17:05:00.000Z",
  "localTimestamp": "2025-01-09T09:05:00.000-08:00",
  "id": "1736442300000",
  "channelId": "msteams",
  "serviceUrl": "https://smba.trafficmanager.net/emea/",
  "from": {
    "id": "29:1SamTeamsUserId",
    "name": "Sam Lee",
    "aadObjectId": "7b2c3d4e-0000-4000-8000-00000000bbbb"
  },
  "conversation": {
    "conversationType": "personal",
    "tenantId": "tenant-1",
    "id": "a:1XyZpersonalChatId"
  },
  "recipient": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
  "entities": [
    {"locale": "en-GB", "country": "GB", "platform": "Windows", "timezone": "Europe/London", "type": "clientInfo"}
  ],
  "channelData": {"tenant": {"id": "tenant-1"}},
  "locale": "en-GB"
})";

// An Approve button on a sign-off card, clicked (Universal Actions).
constexpr std::string_view card_click = R"({
  "name": "adaptiveCard/action",
  "type": "invoke",
  "timestamp": "2025-01-09T17:10:00.000Z",
  "localTimestamp": "2025-01-09T12:10:00.000-05:00",
  "id": "f:6381283751234567890",
  "channelId": "msteams",
  "serviceUrl": "https://smba.trafficmanager.net/amer/",
  "from": {
    "id": "29:1AbCdEfGhIjKlMnOpQrStUvWxYz",
    "name": "Quinn Jones",
    "aadObjectId": "6a1b2c3d-0000-4000-8000-00000000aaaa"
  },
  "conversation": {
    "isGroup": true,
    "conversationType": "channel",
    "tenantId": "tenant-1",
    "id": "19:abc123def456@thread.tacv2;messageid=1736442034123"
  },
  "recipient": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
  "entities": [
    {"locale": "en-US", "country": "US", "platform": "Web", "timezone": "America/New_York", "type": "clientInfo"}
  ],
  "channelData": {
    "channel": {"id": "19:abc123def456@thread.tacv2"},
    "team": {"id": "19:team0000@thread.tacv2"},
    "tenant": {"id": "tenant-1"},
    "source": {"name": "message"},
    "legacy": {"replyToId": "1:1kGzT0v9_xYz"}
  },
  "replyToId": "1736442100456",
  "value": {
    "action": {
      "type": "Action.Execute",
      "title": "Approve",
      "verb": "signoff_approve",
      "data": {"request": "4.2.0|qa"}
    },
    "trigger": "manual"
  },
  "locale": "en-US",
  "localTimezone": "America/New_York"
})";

// The bot was added to a team.
constexpr std::string_view bot_added = R"({
  "membersAdded": [{"id": "28:11111111-2222-3333-4444-555555555555"}],
  "type": "conversationUpdate",
  "timestamp": "2025-01-09T16:00:00.000Z",
  "id": "f:2c0d6b8e-1111-4222-8333-444455556666",
  "channelId": "msteams",
  "serviceUrl": "https://smba.trafficmanager.net/amer/",
  "from": {"id": "29:1AbCdEfGhIjKlMnOpQrStUvWxYz", "aadObjectId": "6a1b2c3d-0000-4000-8000-00000000aaaa"},
  "conversation": {
    "isGroup": true,
    "conversationType": "channel",
    "tenantId": "tenant-1",
    "id": "19:abc123def456@thread.tacv2"
  },
  "recipient": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
  "channelData": {
    "team": {"aadGroupId": "d1e2f3a4-0000-4000-8000-00000000cccc", "name": "Payments", "id": "19:team0000@thread.tacv2"},
    "eventType": "teamMemberAdded",
    "tenant": {"id": "tenant-1"}
  }
})";

// A message activity around `text` and `entities` (a JSON array), sent in a team channel.
std::string channel_message(std::string_view text, std::string_view entities = "[]") {
  auto activity = json::parse(channel_mention);
  activity["text"] = text;
  activity["entities"] = json::parse(entities);
  activity.erase("attachments");
  return activity.dump();
}

// channel_mention with one member changed; `path` is a JSON pointer.
std::string with(std::string_view base, const std::string& path, const json& value) {
  auto activity = json::parse(base);
  activity[json::json_pointer{path}] = value;
  return activity.dump();
}

std::string without(std::string_view base, const std::string& path) {
  auto activity = json::parse(base);
  const json::json_pointer pointer{path};
  activity[pointer.parent_pointer()].erase(pointer.back());
  return activity.dump();
}

}  // namespace

TEST_CASE("a channel mention becomes the command text, addressed to the thread", "[teams]") {
  const auto out = decoded(channel_mention);
  CHECK(out.type == "message");
  CHECK(out.activity_id == "1736442034123");
  CHECK(out.conversation.service_url == "https://smba.trafficmanager.net/amer/");
  CHECK(out.conversation.conversation_id == "19:abc123def456@thread.tacv2;messageid=1736442034123");
  CHECK(out.conversation.conversation_type == "channel");
  CHECK(out.conversation.tenant_id == "tenant-1");
  CHECK(out.conversation.bot_id == "28:11111111-2222-3333-4444-555555555555");
  CHECK(out.conversation.bot_name == "releasebot");
  CHECK(out.user_id == "6a1b2c3d-0000-4000-8000-00000000aaaa");
  CHECK(out.user_chat_id == "29:1AbCdEfGhIjKlMnOpQrStUvWxYz");
  CHECK(out.user_name == "Quinn Jones");
  CHECK(out.reply_to_id.empty());
  CHECK_FALSE(out.is_card_action);
  CHECK(out.ignored_because.empty());
  REQUIRE(out.event);
  CHECK(out.event->platform == "teams");
  CHECK(out.event->event_id == "1736442034123");
  CHECK(out.event->user == "6a1b2c3d-0000-4000-8000-00000000aaaa");
  CHECK(out.event->channel == "19:abc123def456@thread.tacv2");
  CHECK(out.event->thread == "1736442034123");
  CHECK(out.event->time_zone == "America/New_York");
  CHECK(out.event->text == "status 4.2");
  CHECK_FALSE(out.event->action);

  const auto parsed = releasebot::commands::parse(out.event->text);
  REQUIRE(std::holds_alternative<releasebot::commands::command>(parsed));
  CHECK(releasebot::commands::command_name(std::get<releasebot::commands::command>(parsed)) == "status");
}

TEST_CASE("a 1:1 message keeps its text and answers in the personal chat", "[teams]") {
  const auto out = decoded(personal_message);
  CHECK(out.conversation.service_url == "https://smba.trafficmanager.net/emea/");
  CHECK(out.conversation.conversation_id == "a:1XyZpersonalChatId");
  CHECK(out.conversation.conversation_type == "personal");
  CHECK(out.conversation.tenant_id == "tenant-1");
  CHECK(out.user_id == "7b2c3d4e-0000-4000-8000-00000000bbbb");
  CHECK(out.user_chat_id == "29:1SamTeamsUserId");
  CHECK(out.user_name == "Sam Lee");
  REQUIRE(out.event);
  CHECK(out.event->event_id == "1736442300000");
  CHECK(out.event->user == "7b2c3d4e-0000-4000-8000-00000000bbbb");
  CHECK(out.event->channel == "a:1XyZpersonalChatId");
  CHECK(out.event->thread.empty());
  CHECK(out.event->time_zone == "Europe/London");  // no localTimezone: clientInfo's
  CHECK(out.event->text == "status 4.2.0");
}

TEST_CASE("defaults: personal conversation, tenant from channelData, from.id without aadObjectId", "[teams]") {
  const auto out = decoded(R"({
    "type": "message",
    "id": "1736442300001",
    "serviceUrl": "https://smba.trafficmanager.net/amer/",
    "from": {"id": "29:1GuestUser"},
    "conversation": {"id": "a:1OtherChat"},
    "recipient": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
    "channelData": {"tenant": {"id": "tenant-2"}},
    "text": "help"
  })");
  CHECK(out.conversation.conversation_type == "personal");
  CHECK(out.conversation.tenant_id == "tenant-2");
  CHECK(out.user_id == "29:1GuestUser");
  CHECK(out.user_chat_id == "29:1GuestUser");
  CHECK(out.user_name.empty());
  REQUIRE(out.event);
  CHECK(out.event->user == "29:1GuestUser");
  CHECK(out.event->time_zone.empty());
  CHECK(out.event->text == "help");
}

TEST_CASE("conversation.tenantId wins over channelData.tenant.id; no recipient means 28:<app id>", "[teams]") {
  auto body = with(personal_message, "/channelData/tenant/id", "other-tenant");
  body = without(body, "/recipient");
  const auto out = decoded(body);
  CHECK(out.conversation.tenant_id == "tenant-1");
  CHECK(out.conversation.bot_id == "28:11111111-2222-3333-4444-555555555555");
  CHECK(out.conversation.bot_name.empty());
}

TEST_CASE("a mention of another user becomes <@id> the parser reads as a mention", "[teams]") {
  const auto out = decoded(channel_message(
      "<at>releasebot</at> role <at>Sam Lee</at> add qa",
      R"([{"mentioned": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
           "text": "<at>releasebot</at>", "type": "mention"},
          {"mentioned": {"id": "29:1SamTeamsUserId", "name": "Sam Lee",
                         "aadObjectId": "7b2c3d4e-0000-4000-8000-00000000bbbb"},
           "text": "<at>Sam Lee</at>", "type": "mention"}])"));
  REQUIRE(out.event);
  CHECK(out.event->text == "role <@7b2c3d4e-0000-4000-8000-00000000bbbb> add qa");

  const auto parsed = releasebot::commands::parse(out.event->text);
  REQUIRE(std::holds_alternative<releasebot::commands::command>(parsed));
  const auto* role = std::get_if<releasebot::commands::role_command>(&std::get<releasebot::commands::command>(parsed));
  REQUIRE(role != nullptr);
  CHECK(role->user == "7b2c3d4e-0000-4000-8000-00000000bbbb");
  CHECK(role->operation == "add");
  CHECK(role->role == "qa");
}

TEST_CASE("a mention without aadObjectId uses the Teams id; the sender's own resolves to theirs", "[teams]") {
  const auto out = decoded(channel_message(
      "<at>releasebot</at> signoff 4.2.0 qa <at>Sam Lee</at>, <at>Quinn Jones</at>",
      R"([{"mentioned": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
           "text": "<at>releasebot</at>", "type": "mention"},
          {"mentioned": {"id": "29:1SamTeamsUserId", "name": "Sam Lee"}, "text": "<at>Sam Lee</at>", "type": "mention"},
          {"mentioned": {"id": "29:1AbCdEfGhIjKlMnOpQrStUvWxYz", "name": "Quinn Jones"},
           "text": "<at>Quinn Jones</at>", "type": "mention"}])"));
  REQUIRE(out.event);
  CHECK(out.event->text == "signoff 4.2.0 qa <@29:1SamTeamsUserId> , <@6a1b2c3d-0000-4000-8000-00000000aaaa>");
}

TEST_CASE("the bot's mention goes wherever it is; names without a user id stay words", "[teams]") {
  SECTION("mentioned by recipient id, twice, with one entity") {
    const auto out = decoded(channel_message(
        "status <at>releasebot</at> 4.2 <at>releasebot</at>",
        R"([{"mentioned": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
             "text": "<at>releasebot</at>", "type": "mention"}])"));
    REQUIRE(out.event);
    CHECK(out.event->text == "status 4.2");
  }
  SECTION("renamed in this team: the entity's id decides, not the words") {
    const auto out = decoded(channel_message(
        "<at>Release Bot</at> help",
        R"([{"mentioned": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "Release Bot"},
             "text": "<at>Release Bot</at>", "type": "mention"}])"));
    REQUIRE(out.event);
    CHECK(out.event->text == "help");
  }
  SECTION("no entity: the recipient's name identifies the bot, any other name stays as words") {
    const auto out = decoded(channel_message("<at>releasebot</at> ask <at>Ana María</at> about it"));
    REQUIRE(out.event);
    CHECK(out.event->text == "ask Ana María about it");
  }
  SECTION("a channel or tag mention is not a user") {
    const auto out = decoded(channel_message(
        "<at>releasebot</at> status <at>General</at>",
        R"([{"mentioned": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
             "text": "<at>releasebot</at>", "type": "mention"},
            {"mentioned": {"id": "19:abc123def456@thread.tacv2", "name": "General"},
             "text": "<at>General</at>", "type": "mention"}])"));
    REQUIRE(out.event);
    CHECK(out.event->text == "status General");
  }
  SECTION("an entity whose text differs is still found by the mentioned name") {
    const auto out = decoded(channel_message(
        "<at>Sam  Lee</at> <at>releasebot</at> roles",
        R"([{"mentioned": {"id": "29:1SamTeamsUserId", "name": "Sam Lee"}, "text": "<at>Sam Lee</at>",
             "type": "mention"}])"));
    REQUIRE(out.event);
    CHECK(out.event->text == "<@29:1SamTeamsUserId> roles");
  }
}

TEST_CASE("HTML entities are decoded and tags dropped; whitespace collapses", "[teams]") {
  SECTION("formatted message") {
    const auto out = decoded(channel_message(
        "<p><at>releasebot</at>&nbsp;open 4.3.0 title: R&amp;D &lt;beta&gt; &quot;Q1&quot; &#39;go&#39; "
        "<b>now</b></p><div>second<br>line &#x1F680;</div>\r\n",
        R"([{"mentioned": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
             "text": "<at>releasebot</at>", "type": "mention"}])"));
    REQUIRE(out.event);
    CHECK(out.event->text == "open 4.3.0 title: R&D <beta> \"Q1\" 'go' now second line \xF0\x9F\x9A\x80");
  }
  SECTION("inline tags join, unknown entities and stray brackets stay as typed") {
    const auto out = decoded(channel_message("a<i>b</i>c &copy; 3 < 4 &amp;lt; x &#;"));
    REQUIRE(out.event);
    CHECK(out.event->text == "abc &copy; 3 < 4 &lt; x &#;");
  }
  SECTION("a mention name with entities") {
    const auto out = decoded(channel_message(
        "<at>releasebot</at> roles <at>Sinéad O&#39;Brien</at>",
        R"([{"mentioned": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
             "text": "<at>releasebot</at>", "type": "mention"},
            {"mentioned": {"id": "29:1SineadId", "name": "Sinéad O'Brien", "aadObjectId": "aad-sinead"},
             "text": "<at>Sinéad O&#39;Brien</at>", "type": "mention"}])"));
    REQUIRE(out.event);
    CHECK(out.event->text == "roles <@aad-sinead>");
  }
  SECTION("typed look-alikes of markup arrive escaped and stay text") {
    const auto out = decoded(channel_message("<at>releasebot</at> note &lt;at&gt;Sam&lt;/at&gt; &lt;p&gt;"));
    REQUIRE(out.event);
    CHECK(out.event->text == "note <at>Sam</at> <p>");
  }
  SECTION("only a mention") {
    const auto out = decoded(channel_message("<at>releasebot</at>\n"));
    REQUIRE(out.event);
    CHECK(out.event->text.empty());
  }
}

TEST_CASE("an Action.Execute click becomes a button action", "[teams]") {
  const auto out = decoded(card_click);
  CHECK(out.type == "invoke");
  CHECK(out.activity_id == "f:6381283751234567890");
  CHECK(out.is_card_action);
  CHECK(out.reply_to_id == "1736442100456");
  CHECK(out.conversation.conversation_id == "19:abc123def456@thread.tacv2;messageid=1736442034123");
  CHECK(out.ignored_because.empty());
  REQUIRE(out.event);
  CHECK(out.event->platform == "teams");
  CHECK(out.event->event_id == "f:6381283751234567890");
  CHECK(out.event->user == "6a1b2c3d-0000-4000-8000-00000000aaaa");
  CHECK(out.event->channel == "19:abc123def456@thread.tacv2");
  CHECK(out.event->thread == "1736442034123");
  CHECK(out.event->text.empty());
  REQUIRE(out.event->action);
  CHECK(out.event->action->action_id == "signoff_approve");
  CHECK(out.event->action->value == "4.2.0|qa");

  SECTION("a numeric request is accepted as its digits") {
    const auto numeric = decoded(with(card_click, "/value/action/data/request", 42));
    REQUIRE(numeric.event);
    REQUIRE(numeric.event->action);
    CHECK(numeric.event->action->value == "42");
  }
  SECTION("no data: an empty value") {
    const auto bare = decoded(without(card_click, "/value/action/data"));
    REQUIRE(bare.event);
    REQUIRE(bare.event->action);
    CHECK(bare.event->action->value.empty());
  }
  SECTION("a request of another type is refused") {
    CHECK(problem(with(card_click, "/value/action/data/request", json{{"v", 1}})) ==
          "value.action.data.request is object, expected a string");
  }
  SECTION("no verb is refused") {
    CHECK(problem(without(card_click, "/value/action/verb")) == "value.action.verb is missing");
  }
  SECTION("no value is refused") {
    CHECK(problem(without(card_click, "/value")) == "value is missing");
  }
}

TEST_CASE("other invokes and activities are acknowledged and ignored", "[teams]") {
  SECTION("another invoke") {
    const auto out = decoded(with(with(card_click, "/name", "composeExtension/query"), "/value", json::object()));
    CHECK_FALSE(out.event);
    CHECK_FALSE(out.is_card_action);
    CHECK(out.ignored_because == "an invoke named composeExtension/query");
  }
  SECTION("an adaptiveCard/action that is not Action.Execute") {
    const auto out = decoded(with(card_click, "/value/action/type", "Action.Submit"));
    CHECK_FALSE(out.event);
    CHECK(out.ignored_because == "an adaptiveCard/action of type Action.Submit");
  }
  SECTION("conversationUpdate keeps the conversation reference") {
    const auto out = decoded(bot_added);
    CHECK(out.type == "conversationUpdate");
    CHECK_FALSE(out.event);
    CHECK(out.ignored_because == "an activity of type conversationUpdate (the roster is read from it)");
    CHECK(out.conversation.conversation_id == "19:abc123def456@thread.tacv2");
    CHECK(out.conversation.conversation_type == "channel");
    CHECK(out.conversation.tenant_id == "tenant-1");
    CHECK(out.conversation.service_url == "https://smba.trafficmanager.net/amer/");
  }
  SECTION("the bot added to a team: the team, the event, and no person among the members") {
    const auto out = decoded(bot_added);
    CHECK(out.bot_added);
    CHECK(out.team_id == "19:team0000@thread.tacv2");
    CHECK(out.event_type == "teamMemberAdded");
    CHECK(out.members_added.empty());
  }
  SECTION("members added and removed, with aadObjectId or the REST field objectId") {
    auto update = json::parse(bot_added);
    update["membersAdded"] = json::array({{{"id", "29:quinn"}, {"aadObjectId", "aad-quinn"}},
                                          {{"id", "29:pat"}, {"objectId", "aad-pat"}, {"name", "Pat Lee"}},
                                          {{"name", "no id"}}});
    update["membersRemoved"] = json::array({{{"id", "29:sam"}}});
    const auto out = decoded(update.dump());
    CHECK_FALSE(out.bot_added);
    REQUIRE(out.members_added.size() == 2);
    CHECK(out.members_added[0].object_id == "aad-quinn");
    CHECK(out.members_added[1].object_id == "aad-pat");
    CHECK(out.members_added[1].name == "Pat Lee");
    REQUIRE(out.members_removed.size() == 1);
    CHECK(out.members_removed[0].chat_id == "29:sam");
  }
  SECTION("installationUpdate add-upgrade") {
    auto update = json::parse(bot_added);
    update["type"] = "installationUpdate";
    update["action"] = "add-upgrade";
    update.erase("membersAdded");
    const auto out = decoded(update.dump());
    CHECK(out.installation_action == "add-upgrade");
    CHECK(out.team_id == "19:team0000@thread.tacv2");
    CHECK_FALSE(out.event);
  }
  SECTION("messageReaction") {
    const auto out = decoded(R"({
      "reactionsAdded": [{"type": "like"}],
      "type": "messageReaction",
      "id": "1736442500000",
      "serviceUrl": "https://smba.trafficmanager.net/amer/",
      "from": {"id": "29:1AbCdEfGhIjKlMnOpQrStUvWxYz", "aadObjectId": "6a1b2c3d-0000-4000-8000-00000000aaaa"},
      "conversation": {"conversationType": "personal", "tenantId": "tenant-1", "id": "a:1XyZpersonalChatId"},
      "recipient": {"id": "28:11111111-2222-3333-4444-555555555555", "name": "releasebot"},
      "replyToId": "1736442100456"
    })");
    CHECK_FALSE(out.event);
    CHECK(out.ignored_because == "an activity of type messageReaction");
    CHECK(out.reply_to_id == "1736442100456");
  }
  SECTION("typing") {
    const auto out = decoded(with(without(personal_message, "/text"), "/type", "typing"));
    CHECK_FALSE(out.event);
    CHECK(out.ignored_because == "an activity of type typing");
  }
}

TEST_CASE("the bot's own messages are ignored", "[teams]") {
  SECTION("from the recipient") {
    const auto out = decoded(with(personal_message, "/from", json{{"id", "28:11111111-2222-3333-4444-555555555555"},
                                                                  {"name", "releasebot"}}));
    CHECK_FALSE(out.event);
    CHECK(out.ignored_because == "the bot's own message");
  }
  SECTION("from 28:<app id> when the recipient says otherwise") {
    auto body = with(personal_message, "/from/id", "28:11111111-2222-3333-4444-555555555555");
    body = with(body, "/recipient/id", "28:something-else");
    const auto out = decoded(body);
    CHECK_FALSE(out.event);
    CHECK(out.ignored_because == "the bot's own message");
  }
}

TEST_CASE("malformed activities are refused, naming the field", "[teams]") {
  CHECK(problem("not json") == "activity is not valid JSON (syntax error at byte 2)");
  CHECK(problem("") .starts_with("activity is not valid JSON"));
  CHECK(problem(R"({"type": "message", "text": "secret words)").find("secret") == std::string::npos);
  CHECK(problem("[1, 2]") == "activity is array, expected an object");
  CHECK(problem("{}") == "type is missing");
  CHECK(problem(with(personal_message, "/type", 7)) == "type is number, expected a string");
  CHECK(problem(with(personal_message, "/type", "")) == "type is empty");
  CHECK(problem(without(personal_message, "/id")) == "id is missing");
  CHECK(problem(with(personal_message, "/id", 1736442300000)) == "id is number, expected a string");
  CHECK(problem(without(personal_message, "/serviceUrl")) == "serviceUrl is missing");
  CHECK(problem(with(personal_message, "/serviceUrl", nullptr)) == "serviceUrl is missing");
  CHECK(problem(without(personal_message, "/conversation")) == "conversation is missing");
  CHECK(problem(with(personal_message, "/conversation", "a:1XyZ")) == "conversation is string, expected an object");
  CHECK(problem(without(personal_message, "/conversation/id")) == "conversation.id is missing");
  CHECK(problem(with(personal_message, "/conversation/id", json::array())) ==
        "conversation.id is array, expected a string");
  CHECK(problem(with(personal_message, "/conversation/conversationType", 1)) ==
        "conversation.conversationType is number, expected a string");
  CHECK(problem(without(personal_message, "/from")) == "from is missing");
  CHECK(problem(without(personal_message, "/from/id")) == "from.id is missing");
  CHECK(problem(with(personal_message, "/from/id", true)) == "from.id is boolean, expected a string");
  CHECK(problem(with(personal_message, "/from/aadObjectId", 5)) == "from.aadObjectId is number, expected a string");
  CHECK(problem(without(personal_message, "/text")) == "text is missing");
  CHECK(problem(with(personal_message, "/text", 42)) == "text is number, expected a string");
  CHECK(problem(with(personal_message, "/recipient", "bot")) == "recipient is string, expected an object");
  CHECK(problem(with(personal_message, "/entities", json::object())) == "entities is object, expected an array");
}

TEST_CASE("size limits: 256 KiB per activity, 40000 characters of text", "[teams]") {
  const std::string at_limit(40'000, 'x');
  const auto fine = decoded(with(personal_message, "/text", at_limit));
  REQUIRE(fine.event);
  CHECK(fine.event->text == at_limit);

  // Counted in characters, not bytes: 40000 × "é" is 80000 bytes and still allowed.
  std::string accented;
  for (int i = 0; i < 40'000; ++i) accented += "\xC3\xA9";
  CHECK(decoded(with(personal_message, "/text", accented)).event.has_value());

  CHECK(problem(with(personal_message, "/text", at_limit + "x")) == "text is longer than 40000 characters");

  auto huge = json::parse(personal_message);
  huge["channelData"]["padding"] = std::string(256 * 1024, 'p');
  CHECK(problem(huge.dump()).starts_with("activity is "));
  CHECK(problem(huge.dump()).ends_with("bytes, more than 262144"));
}

TEST_CASE("malformed mention entities are treated as absent", "[teams]") {
  const auto out = decoded(channel_message(
      "<at>releasebot</at> roles <at>Sam Lee</at>",
      R"([42, {"type": "mention"}, {"type": "mention", "text": "<at>Sam Lee</at>", "mentioned": "29:1Sam"},
          {"type": "mention", "text": "<at>Sam Lee</at>", "mentioned": {"id": ""}}])"));
  REQUIRE(out.event);
  CHECK(out.event->text == "roles Sam Lee");
}

TEST_CASE("unclosed markup at the size limit decodes (and quickly)", "[teams]") {
  std::string opens;
  while (opens.size() + 4 <= 40'000) opens += "<at>";
  const auto mentions = decoded(with(personal_message, "/text", opens));
  REQUIRE(mentions.event);
  CHECK(mentions.event->text.empty());  // unclosed <at> tags are tags, and tags are dropped

  std::string brackets;
  while (brackets.size() + 2 <= 39'990) brackets += "<a";
  const auto tags = decoded(with(personal_message, "/text", "<at>" + brackets + "</at>"));
  REQUIRE(tags.event);
  CHECK(tags.event->text == brackets);
}

TEST_CASE("a number beyond double range is an activity error, not an escaping exception (found by fuzzing)",
          "[teams][activity]") {
  const auto decoded = releasebot::integrations::teams::decode_activity(R"({"type":"message","n":888e8888888})", "app");
  REQUIRE(std::holds_alternative<releasebot::integrations::teams::activity_error>(decoded));
  CHECK(std::get<releasebot::integrations::teams::activity_error>(decoded).problem.find("out of range") != std::string::npos);
}
