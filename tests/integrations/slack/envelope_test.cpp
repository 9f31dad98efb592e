#include "integrations/slack/envelope.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace {

using namespace releasebot::integrations::slack;
using nlohmann::json;

constexpr std::string_view bot_user = "UBOT";

envelope decoded(std::string_view frame) {
  auto result = decode_envelope(frame, bot_user);
  if (const auto* error = std::get_if<decode_error>(&result)) FAIL("unexpected decode_error: " << error->problem);
  return std::get<envelope>(std::move(result));
}

std::string problem(std::string_view frame) {
  auto result = decode_envelope(frame, bot_user);
  REQUIRE(std::holds_alternative<decode_error>(result));
  const auto& text = std::get<decode_error>(result).problem;
  CHECK_FALSE(text.empty());
  CHECK(text.find('\n') == std::string::npos);
  return text;
}

// An Events API envelope around `event`, the way Slack wraps every event callback.
std::string events_api(const json& event, std::string_view event_id = "Ev08MFMKH6", int retry_attempt = 0,
                       std::string_view retry_reason = "") {
  json frame = json::parse(R"({
    "envelope_id": "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545",
    "payload": {
      "token": "XXYYZZ",
      "team_id": "T014NJZ8BFH",
      "api_app_id": "A01K58AR4RF",
      "type": "event_callback",
      "event_context": "4-eyJldCI6ImFwcF9tZW50aW9uIn0",
      "event_time": 1736442034,
      "authorizations": [{"enterprise_id": null, "team_id": "T014NJZ8BFH", "user_id": "UBOT",
                          "is_bot": true, "is_enterprise_install": false}],
      "is_ext_shared_channel": false
    },
    "type": "events_api",
    "accepts_response_payload": false
  })");
  frame["payload"]["event"] = event;
  frame["payload"]["event_id"] = event_id;
  frame["retry_attempt"] = retry_attempt;
  frame["retry_reason"] = retry_reason;
  return frame.dump();
}

json app_mention() {
  return json::parse(R"({
    "type": "app_mention",
    "user": "U061F7AUR",
    "text": "<@UBOT> status 4.2.0",
    "ts": "1736442034.001200",
    "team": "T014NJZ8BFH",
    "channel": "C0LAN2Q65",
    "event_ts": "1736442034.001200",
    "client_msg_id": "c1d2e3f4-0000-4000-8000-000000000001",
    "blocks": [{"type": "rich_text", "block_id": "x1", "elements": []}]
  })");
}

json direct_message() {
  return json::parse(R"({
    "type": "message",
    "channel": "D0PNCRP9N",
    "user": "U061F7AUR",
    "text": "release 4.3.0 title: R&amp;D &lt;beta&gt;",
    "ts": "1736442100.000300",
    "event_ts": "1736442100.000300",
    "channel_type": "im",
    "team": "T014NJZ8BFH",
    "client_msg_id": "c1d2e3f4-0000-4000-8000-000000000002"
  })");
}

constexpr std::string_view slash_command_frame = R"({
  "envelope_id": "1d8b4c6a-2f6e-4a7e-9d1c-8a5b2e3f4c11",
  "payload": {
    "token": "bHKJ2n9AW6Ju3MjciOHfbA1b",
    "team_id": "T014NJZ8BFH",
    "team_domain": "example",
    "channel_id": "C0LAN2Q65",
    "channel_name": "releases",
    "user_id": "U061F7AUR",
    "user_name": "quinn",
    "command": "/release",
    "text": "status 4.2.0",
    "api_app_id": "A01K58AR4RF",
    "is_enterprise_install": "false",
    "response_url": "https://hooks.slack.com/commands/T014NJZ8BFH/1234/abcd",
    "trigger_id": "1234.5678.abcdef"
  },
  "type": "slash_commands",
  "accepts_response_payload": true
})";

constexpr std::string_view block_actions_frame = R"({
  "envelope_id": "7a4e6c2b-9d31-4f0a-b5e8-3c2d1f0e9a87",
  "payload": {
    "type": "block_actions",
    "user": {"id": "U0CA5", "username": "ana", "name": "ana", "team_id": "T014NJZ8BFH"},
    "api_app_id": "A01K58AR4RF",
    "token": "bHKJ2n9AW6Ju3MjciOHfbA1b",
    "container": {"type": "message", "message_ts": "1736442200.000400", "channel_id": "C0LAN2Q65",
                  "is_ephemeral": false, "thread_ts": "1736442034.001200"},
    "trigger_id": "1234.5678.fedcba",
    "team": {"id": "T014NJZ8BFH", "domain": "example"},
    "enterprise": null,
    "is_enterprise_install": false,
    "channel": {"id": "C0LAN2Q65", "name": "releases"},
    "message": {"type": "message", "ts": "1736442200.000400", "bot_id": "B01", "user": "UBOT", "text": "Sign-off"},
    "state": {"values": {}},
    "response_url": "https://hooks.slack.com/actions/T014NJZ8BFH/1234/abcd",
    "actions": [
      {"action_id": "signoff_approve", "block_id": "release_actions",
       "text": {"type": "plain_text", "text": "Approve", "emoji": true},
       "value": "4.2.0|qa", "style": "primary", "type": "button", "action_ts": "1736442260.123456"},
      {"action_id": "signoff_reject", "block_id": "release_actions", "value": "ignored", "type": "button"}
    ]
  },
  "type": "interactive",
  "accepts_response_payload": false
})";

std::string with(std::string_view frame, const json::json_pointer& where, const json& value) {
  auto parsed = json::parse(frame);
  parsed[where] = value;
  return parsed.dump();
}

std::string without(std::string_view frame, const json::json_pointer& where) {
  auto parsed = json::parse(frame);
  parsed[where.parent_pointer()].erase(where.back());
  return parsed.dump();
}

}  // namespace

TEST_CASE("hello", "[slack][envelope]") {
  const auto out = decoded(R"({"type": "hello", "num_connections": 1,
    "debug_info": {"host": "applink-7fc4fdbb64-4x5xq", "build_number": 10, "approximate_connection_time": 18060},
    "connection_info": {"app_id": "A01K58AR4RF"}})");
  CHECK(out.type == envelope_type::hello);
  CHECK(out.type_name == "hello");
  CHECK(out.envelope_id.empty());
  CHECK_FALSE(out.event.has_value());
}

TEST_CASE("disconnect keeps its reason", "[slack][envelope]") {
  const auto out = decoded(R"({"type": "disconnect", "reason": "refresh_requested",
    "debug_info": {"host": "applink-7fc4fdbb64-4x5xq"}})");
  CHECK(out.type == envelope_type::disconnect);
  CHECK(out.disconnect_reason == "refresh_requested");
  CHECK(decoded(R"({"type": "disconnect", "reason": "warning"})").disconnect_reason == "warning");
  CHECK(decoded(R"({"type": "disconnect"})").disconnect_reason.empty());
}

TEST_CASE("unknown envelope types are kept by name", "[slack][envelope]") {
  const auto out = decoded(R"({"type": "shiny_new_thing", "envelope_id": "e-1", "payload": {}})");
  CHECK(out.type == envelope_type::unknown);
  CHECK(out.type_name == "shiny_new_thing");
  CHECK(out.envelope_id == "e-1");
  CHECK_FALSE(out.event.has_value());
}

TEST_CASE("a slash command", "[slack][envelope]") {
  const auto out = decoded(slash_command_frame);
  CHECK(out.type == envelope_type::slash_commands);
  CHECK(out.envelope_id == "1d8b4c6a-2f6e-4a7e-9d1c-8a5b2e3f4c11");
  CHECK(out.accepts_response_payload);
  CHECK(out.retry_attempt == 0);
  REQUIRE(out.event.has_value());
  CHECK(out.event->platform == "slack");
  CHECK(out.event->event_id == "1d8b4c6a-2f6e-4a7e-9d1c-8a5b2e3f4c11");
  CHECK(out.event->user == "U061F7AUR");
  CHECK(out.event->channel == "C0LAN2Q65");
  CHECK(out.event->text == "status 4.2.0");
  CHECK(out.event->thread.empty());
  CHECK_FALSE(out.event->action.has_value());
  CHECK(out.route.slash_command);
  CHECK_FALSE(out.route.direct_message);
  CHECK(out.route.channel == "C0LAN2Q65");
  CHECK(out.route.user == "U061F7AUR");
  CHECK(out.route.thread_ts.empty());
  CHECK(out.ignored_because.empty());
}

TEST_CASE("slash command text comes back as typed", "[slack][envelope]") {
  const auto escaped = with(slash_command_frame, "/payload/text"_json_pointer,
                            "release 4.3.0 title: R&amp;D &lt;beta&gt; &amp;lt; <@U0CA5|ana>");
  CHECK(decoded(escaped).event->text == "release 4.3.0 title: R&D <beta> &lt; <@U0CA5|ana>");
  CHECK(decoded(with(slash_command_frame, "/payload/text"_json_pointer, "")).event->text.empty());
}

TEST_CASE("an app mention, answered in a thread of its own", "[slack][envelope]") {
  const auto out = decoded(events_api(app_mention()));
  CHECK(out.type == envelope_type::events_api);
  CHECK(out.envelope_id == "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545");
  CHECK_FALSE(out.accepts_response_payload);
  REQUIRE(out.event.has_value());
  CHECK(out.event->platform == "slack");
  CHECK(out.event->event_id == "Ev08MFMKH6");
  CHECK(out.event->user == "U061F7AUR");
  CHECK(out.event->channel == "C0LAN2Q65");
  CHECK(out.event->text == "<@UBOT> status 4.2.0");
  CHECK(out.event->thread.empty());
  CHECK(out.route.channel == "C0LAN2Q65");
  CHECK(out.route.user == "U061F7AUR");
  CHECK(out.route.thread_ts == "1736442034.001200");
  CHECK_FALSE(out.route.slash_command);
  CHECK_FALSE(out.route.direct_message);
}

TEST_CASE("an app mention inside a thread is answered in that thread", "[slack][envelope]") {
  auto event = app_mention();
  event["thread_ts"] = "1736440000.000100";
  const auto out = decoded(events_api(event));
  REQUIRE(out.event.has_value());
  CHECK(out.event->thread == "1736440000.000100");
  CHECK(out.route.thread_ts == "1736440000.000100");
}

TEST_CASE("a redelivered event keeps its event id and says it is a retry", "[slack][envelope]") {
  const auto out = decoded(events_api(app_mention(), "Ev08MFMKH6", 2, "timeout"));
  CHECK(out.retry_attempt == 2);
  CHECK(out.retry_reason == "timeout");
  REQUIRE(out.event.has_value());
  CHECK(out.event->event_id == "Ev08MFMKH6");
}

TEST_CASE("a direct message", "[slack][envelope]") {
  const auto out = decoded(events_api(direct_message(), "Ev0DM"));
  REQUIRE(out.event.has_value());
  CHECK(out.event->event_id == "Ev0DM");
  CHECK(out.event->user == "U061F7AUR");
  CHECK(out.event->channel == "D0PNCRP9N");
  CHECK(out.event->text == "release 4.3.0 title: R&D <beta>");
  CHECK(out.route.direct_message);
  CHECK(out.route.channel == "D0PNCRP9N");
  CHECK(out.route.thread_ts.empty());
}

TEST_CASE("what is not a person talking to the bot is ignored", "[slack][envelope]") {
  auto ignored = [](const json& event) {
    const auto out = decoded(events_api(event));
    CHECK(out.type == envelope_type::events_api);
    CHECK(out.envelope_id == "dbdd0ef3-1543-4f94-bfb4-133d0e6c1545");
    CHECK_FALSE(out.event.has_value());
    CHECK_FALSE(out.ignored_because.empty());
    return out.ignored_because;
  };

  SECTION("the bot's own message") {
    auto own = direct_message();
    own["user"] = "UBOT";
    CHECK(ignored(own) == "the bot's own message");
  }
  SECTION("a message from a bot") {
    auto from_bot = direct_message();
    from_bot["bot_id"] = "B0AB12CD3";
    from_bot["app_id"] = "A01K58AR4RF";
    CHECK(ignored(from_bot) == "a message from a bot");
    auto mention_from_bot = app_mention();
    mention_from_bot["bot_id"] = "B0FFEE";
    CHECK(ignored(mention_from_bot) == "a message from a bot");
  }
  SECTION("an edit") {
    CHECK(ignored(json::parse(R"({
      "type": "message", "subtype": "message_changed", "hidden": true, "channel": "D0PNCRP9N",
      "channel_type": "im", "ts": "1736442300.000500", "event_ts": "1736442300.000500",
      "message": {"type": "message", "user": "U061F7AUR", "text": "status 4.2.1", "ts": "1736442100.000300",
                  "edited": {"user": "U061F7AUR", "ts": "1736442300.000000"}},
      "previous_message": {"type": "message", "user": "U061F7AUR", "text": "status 4.2.0",
                           "ts": "1736442100.000300"}
    })")) == "a message with subtype message_changed");
  }
  SECTION("someone joining") {
    auto join = direct_message();
    join["subtype"] = "channel_join";
    CHECK(ignored(join) == "a message with subtype channel_join");
  }
  SECTION("a channel message that does not mention the bot") {
    auto channel = direct_message();
    channel["channel"] = "C0LAN2Q65";
    channel["channel_type"] = "channel";
    CHECK(ignored(channel) == "a channel message that does not mention the bot");
    channel.erase("channel_type");
    CHECK(ignored(channel) == "a channel message that does not mention the bot");
  }
  SECTION("an unsupported event type") {
    CHECK(ignored(json::parse(R"({"type": "reaction_added", "user": "U061F7AUR", "reaction": "thumbsup",
      "item": {"type": "message", "channel": "C0LAN2Q65", "ts": "1736442034.001200"},
      "event_ts": "1736442400.000600"})")) == "unsupported event type reaction_added");
  }
}

TEST_CASE("a button click", "[slack][envelope]") {
  const auto out = decoded(block_actions_frame);
  CHECK(out.type == envelope_type::interactive);
  CHECK(out.envelope_id == "7a4e6c2b-9d31-4f0a-b5e8-3c2d1f0e9a87");
  REQUIRE(out.event.has_value());
  CHECK(out.event->platform == "slack");
  CHECK(out.event->event_id == "7a4e6c2b-9d31-4f0a-b5e8-3c2d1f0e9a87");
  CHECK(out.event->user == "U0CA5");
  CHECK(out.event->channel == "C0LAN2Q65");
  CHECK(out.event->text.empty());
  CHECK(out.event->thread == "1736442034.001200");
  REQUIRE(out.event->action.has_value());
  CHECK(out.event->action->action_id == "signoff_approve");
  CHECK(out.event->action->value == "4.2.0|qa");
  CHECK(out.action_channel == "C0LAN2Q65");
  CHECK(out.action_message_ts == "1736442200.000400");
  CHECK(out.route.channel == "C0LAN2Q65");
  CHECK(out.route.user == "U0CA5");
  CHECK(out.route.thread_ts == "1736442034.001200");
}

TEST_CASE("a button click without a channel object uses the container's", "[slack][envelope]") {
  auto frame = without(block_actions_frame, "/payload/channel"_json_pointer);
  frame = with(frame, "/payload/container/channel_id"_json_pointer, "G0PRIVATE");
  const auto out = decoded(frame);
  REQUIRE(out.event.has_value());
  CHECK(out.event->channel == "G0PRIVATE");
  CHECK(out.action_channel == "G0PRIVATE");
}

TEST_CASE("interactions that are not button clicks on a message are ignored", "[slack][envelope]") {
  const auto submission = decoded(R"({
    "envelope_id": "0f3a", "type": "interactive", "accepts_response_payload": true,
    "payload": {"type": "view_submission", "team": {"id": "T014NJZ8BFH"}, "user": {"id": "U0CA5"},
                "view": {"id": "V0PKB1ZFV", "type": "modal", "state": {"values": {}}}}
  })");
  CHECK(submission.type == envelope_type::interactive);
  CHECK(submission.envelope_id == "0f3a");
  CHECK_FALSE(submission.event.has_value());
  CHECK(submission.ignored_because == "interactive payload of type view_submission");

  const auto shortcut = decoded(R"({"envelope_id": "0f3b", "type": "interactive",
    "payload": {"type": "shortcut", "callback_id": "open_release", "user": {"id": "U0CA5"}}})");
  CHECK(shortcut.ignored_because == "interactive payload of type shortcut");

  const auto select = decoded(with(block_actions_frame, "/payload/actions/0"_json_pointer,
                                   json::parse(R"({"action_id": "pick", "type": "static_select",
                                                   "selected_option": {"value": "x"}})")));
  CHECK_FALSE(select.event.has_value());
  CHECK(select.ignored_because == "a block action of type static_select, not a button");

  auto home = without(block_actions_frame, "/payload/channel"_json_pointer);
  home = with(home, "/payload/container"_json_pointer, json::parse(R"({"type": "view", "view_id": "V0HOME"})"));
  CHECK(decoded(home).ignored_because == "a block action outside a conversation");
}

TEST_CASE("frames that are not JSON objects are decode errors", "[slack][envelope]") {
  CHECK(problem(R"({"type": "hello")").starts_with("frame is not valid JSON"));
  CHECK(problem("").starts_with("frame is not valid JSON"));
  CHECK(problem("hello").starts_with("frame is not valid JSON"));
  CHECK(problem("{\"type\": \"hello\", \"text\": \"\xff\"}").starts_with("frame is not valid JSON"));
  CHECK(problem("[1, 2]") == "frame is array, expected an object");
  CHECK(problem(R"("hello")") == "frame is string, expected an object");
  CHECK(problem("null") == "frame is null, expected an object");
  CHECK(problem("{}") == "type is missing");
  CHECK(problem(R"({"type": 7})") == "type is number, expected a string");
}

TEST_CASE("deeply nested frames fail without crashing", "[slack][envelope]") {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  CHECK(problem(deep) == "frame is array, expected an object");
  const std::string deep_payload =
      R"({"type": "events_api", "envelope_id": "e", "payload": )" + std::string(50'000, '[') + std::string(50'000, ']') + "}";
  CHECK(problem(deep_payload) == "payload is array, expected an object");
}

TEST_CASE("envelopes need an envelope_id", "[slack][envelope]") {
  const auto pointer = "/envelope_id"_json_pointer;
  CHECK(problem(without(slash_command_frame, pointer)) == "envelope_id is missing");
  CHECK(problem(with(slash_command_frame, pointer, nullptr)) == "envelope_id is missing");
  CHECK(problem(with(slash_command_frame, pointer, "")) == "envelope_id is empty");
  CHECK(problem(with(block_actions_frame, pointer, 42)) == "envelope_id is number, expected a string");
  CHECK(problem(without(events_api(app_mention()), pointer)) == "envelope_id is missing");
}

TEST_CASE("events need an event_id", "[slack][envelope]") {
  CHECK(problem(without(events_api(app_mention()), "/payload/event_id"_json_pointer)) == "payload.event_id is missing");
  CHECK(problem(events_api(app_mention(), "")) == "payload.event_id is empty");
  // Even an event that would be ignored: without the id it cannot be deduplicated either.
  auto own = direct_message();
  own["user"] = "UBOT";
  CHECK(problem(without(events_api(own), "/payload/event_id"_json_pointer)) == "payload.event_id is missing");
}

TEST_CASE("fields of the wrong JSON type are decode errors naming the field", "[slack][envelope]") {
  CHECK(problem(with(slash_command_frame, "/payload/text"_json_pointer, 42)) ==
        "payload.text is number, expected a string");
  CHECK(problem(with(slash_command_frame, "/payload/user_id"_json_pointer, json::array())) ==
        "payload.user_id is array, expected a string");
  CHECK(problem(with(slash_command_frame, "/payload/channel_id"_json_pointer, "")) == "payload.channel_id is empty");
  CHECK(problem(without(slash_command_frame, "/payload/user_id"_json_pointer)) == "payload.user_id is missing");
  CHECK(problem(with(slash_command_frame, "/payload"_json_pointer, "text=status")) ==
        "payload is string, expected an object");
  CHECK(problem(with(slash_command_frame, "/accepts_response_payload"_json_pointer, "true")) ==
        "accepts_response_payload is string, expected a boolean");
  CHECK(problem(with(slash_command_frame, "/retry_attempt"_json_pointer, "2")) ==
        "retry_attempt is string, expected an integer");
  CHECK(problem(with(slash_command_frame, "/retry_attempt"_json_pointer, 1.5)) ==
        "retry_attempt is number, expected an integer");
  CHECK(problem(with(slash_command_frame, "/retry_attempt"_json_pointer, -1)) == "retry_attempt is out of range");
  CHECK(problem(with(slash_command_frame, "/retry_attempt"_json_pointer, 1ULL << 40)) ==
        "retry_attempt is out of range");
  CHECK(problem(with(slash_command_frame, "/retry_reason"_json_pointer, false)) ==
        "retry_reason is boolean, expected a string");
  CHECK(problem(with(R"({"type": "disconnect"})", "/reason"_json_pointer, 3)) == "reason is number, expected a string");

  auto mention = app_mention();
  mention["text"] = 12;
  CHECK(problem(events_api(mention)) == "payload.event.text is number, expected a string");
  mention = app_mention();
  mention["user"] = json::object();
  CHECK(problem(events_api(mention)) == "payload.event.user is object, expected a string");
  mention = app_mention();
  mention.erase("channel");
  CHECK(problem(events_api(mention)) == "payload.event.channel is missing");
  mention = app_mention();
  mention["thread_ts"] = 1736440000.0001;
  CHECK(problem(events_api(mention)) == "payload.event.thread_ts is number, expected a string");
  CHECK(problem(with(events_api(app_mention()), "/payload/event"_json_pointer, "app_mention")) ==
        "payload.event is string, expected an object");
  CHECK(problem(with(events_api(app_mention()), "/payload/event/type"_json_pointer, true)) ==
        "payload.event.type is boolean, expected a string");

  CHECK(problem(with(block_actions_frame, "/payload/actions"_json_pointer, json::array())) ==
        "payload.actions is empty");
  CHECK(problem(with(block_actions_frame, "/payload/actions"_json_pointer, "signoff_approve")) ==
        "payload.actions is string, expected an array");
  CHECK(problem(with(block_actions_frame, "/payload/actions/0"_json_pointer, "signoff_approve")) ==
        "payload.actions[0] is string, expected an object");
  CHECK(problem(with(block_actions_frame, "/payload/actions/0/action_id"_json_pointer, 5)) ==
        "payload.actions[0].action_id is number, expected a string");
  CHECK(problem(with(block_actions_frame, "/payload/actions/0/value"_json_pointer, json::object())) ==
        "payload.actions[0].value is object, expected a string");
  CHECK(problem(without(block_actions_frame, "/payload/user/id"_json_pointer)) == "payload.user.id is missing");
  CHECK(problem(with(block_actions_frame, "/payload/user"_json_pointer, "U0CA5")) ==
        "payload.user is string, expected an object");
  CHECK(problem(with(block_actions_frame, "/payload/channel/id"_json_pointer, 9)) ==
        "payload.channel.id is number, expected a string");
  CHECK(problem(with(block_actions_frame, "/payload/container/message_ts"_json_pointer, "")) ==
        "payload.container.message_ts is empty");
}

TEST_CASE("text longer than 40000 characters is refused", "[slack][envelope]") {
  auto mention = app_mention();
  mention["text"] = std::string(40'000, 'x');
  CHECK(decoded(events_api(mention)).event->text.size() == 40'000);
  mention["text"] = std::string(40'001, 'x');
  CHECK(problem(events_api(mention)) == "payload.event.text is longer than 40000 characters");

  // Characters, not bytes: 40000 two-byte characters are within the limit.
  std::string accented;
  for (int i = 0; i < 40'000; ++i) accented += "\u00e9";
  mention["text"] = accented;
  CHECK(decoded(events_api(mention)).event->text == accented);

  CHECK(problem(with(slash_command_frame, "/payload/text"_json_pointer, std::string(40'001, 'y'))) ==
        "payload.text is longer than 40000 characters");
}

TEST_CASE("a number beyond double range is a decode error, not an escaping exception (found by fuzzing)",
          "[slack][envelope]") {
  const auto decoded = releasebot::integrations::slack::decode_envelope(R"({"envelope_id":"e","n":1e999999})", "UBOT");
  REQUIRE(std::holds_alternative<releasebot::integrations::slack::decode_error>(decoded));
  CHECK(std::get<releasebot::integrations::slack::decode_error>(decoded).problem.find("out of range") != std::string::npos);
}
