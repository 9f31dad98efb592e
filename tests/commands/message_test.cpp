#include "commands/message.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace {

using namespace releasebot::commands;

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("neutralize removes Slack ping markup", "[message]") {
  const auto channel = neutralize("hey <!channel> look");
  CHECK_FALSE(contains(channel, "<!channel>"));
  CHECK(channel == "hey !channel look");

  const auto here = neutralize("<!here|here> now");
  CHECK_FALSE(contains(here, "<!here"));
  CHECK(contains(here, "now"));

  CHECK_FALSE(contains(neutralize("<!here>"), "<!here>"));
  CHECK_FALSE(contains(neutralize("<!everyone>"), "<!everyone>"));

  const auto team = neutralize("ping <!subteam^S1> please");
  CHECK_FALSE(contains(team, "<!subteam^S1>"));
  CHECK(team == "ping !subteam^S1 please");

  const auto user = neutralize("thanks <@U123>");
  CHECK_FALSE(contains(user, "<@U123>"));
  CHECK(user == "thanks @U123");

  const auto labelled = neutralize("thanks <@U123|bob>");
  CHECK_FALSE(contains(labelled, "<@U123"));

  const auto room = neutralize("see <#C1>");
  CHECK_FALSE(contains(room, "<#C1>"));
  CHECK(room == "see #C1");
}

TEST_CASE("neutralize removes Teams <at> mentions", "[message]") {
  const auto bob = neutralize("hi <at>Bob</at>!");
  CHECK_FALSE(contains(bob, "<at>"));
  CHECK_FALSE(contains(bob, "</at>"));
  CHECK(bob == "hi Bob!");
  const auto spaced = neutralize("hi < AT >Bob< / at >");
  CHECK(spaced == "hi Bob");
}

TEST_CASE("neutralize defuses bare broadcast words", "[message]") {
  for (const std::string word : {"@here", "@everyone", "@channel", "@all", "@HERE", "@Channel"}) {
    INFO(word);
    const auto out = neutralize("attention " + word + " please");
    CHECK_FALSE(contains(out, word));
    CHECK(contains(out, "attention @"));
    CHECK(contains(out, " please"));
  }
  // Words that merely start like a broadcast word are not touched.
  CHECK(neutralize("@hereford cattle") == "@hereford cattle");
  CHECK(neutralize("mail bob@channels.example") == "mail bob@channels.example");
}

TEST_CASE("neutralize cannot be bypassed by nesting markup", "[message]") {
  // Removing one layer must not assemble a new ping from what is left.
  for (const std::string typed : {"<<!channel>>", "<<<!here>>>", "<!chan<at>nel>", "<!he</at>re>", "<<@U1>>",
                                  "<a<at>t>Bob</a</at>t>", "@<at>here", "@<at></at>everyone", "<@U1<!here>>"}) {
    INFO(typed);
    const auto out = neutralize(typed);
    INFO("became " << out);
    CHECK_FALSE(contains(out, "<!"));
    CHECK_FALSE(contains(out, "<@"));
    CHECK_FALSE(contains(out, "<at>"));
    CHECK_FALSE(contains(out, "@here"));
    CHECK_FALSE(contains(out, "@everyone"));
  }
}

TEST_CASE("neutralize leaves ordinary text alone", "[message]") {
  for (const std::string text : {"Payments refresh", "fix a < b > c", "5 > 3 and 2 < 4", "email me: a@b.com",
                                 "version 4.2.0 — done", "at 17:00 at the office", "café ☕"}) {
    CHECK(neutralize(text) == text);
  }
  CHECK(neutralize("").empty());
}

TEST_CASE("plain_text renders user text neutralised and mentions as @id", "[message]") {
  message_builder builder{message_kind::announcement};
  builder.text("Release ").strong("4.2.0").text(" — ").user_text("<!channel> big @here day").text(" by ").mention("U1");
  builder.line();
  builder.text("run ").code("status 4.2.0");
  const auto msg = builder.build();
  CHECK(msg.kind == message_kind::announcement);
  REQUIRE(msg.paragraphs.size() == 2);
  CHECK(msg.paragraphs[0].size() == 6);
  CHECK(msg.paragraphs[0][3].kind == span_kind::user_text);
  CHECK(msg.paragraphs[0][3].value == "<!channel> big @here day");  // stored as typed; escaped when rendered

  const auto text = msg.plain_text();
  CHECK(text == "Release 4.2.0 — !channel big @\u2060here day by @U1\nrun status 4.2.0");
  CHECK_FALSE(contains(text, "<!channel>"));
  CHECK_FALSE(contains(text, "@here"));
}

TEST_CASE("build closes the open paragraph and line() starts a new one", "[message]") {
  message_builder builder;
  builder.text("one").line().text("two").line();
  const auto msg = builder.build();
  REQUIRE(msg.paragraphs.size() == 2);
  CHECK(msg.plain_text() == "one\ntwo");
  CHECK(msg.kind == message_kind::reply);
  CHECK(message_builder{}.build().paragraphs.empty());
}

TEST_CASE("a message round-trips through JSON", "[message]") {
  message_builder builder{message_kind::signoff_request};
  builder.text("plain ").user_text("typed <!here>").mention("U42").line();
  builder.strong("bold").code("4.2.0");
  builder.add_button({"signoff_approve", "Approve", "17", button_style::primary, ""});
  builder.add_button({"signoff_reject", "Reject", "17", button_style::danger, "Sure?"});
  builder.add_button({"other", "Later", "x", button_style::plain, ""});
  const auto original = builder.build();

  const nlohmann::json json = original;
  CHECK(json.at("kind") == "signoff_request");
  CHECK(json.at("paragraphs").size() == 2);
  CHECK(json.at("paragraphs")[0][1].at("k") == "user_text");
  CHECK(json.at("buttons")[1].at("style") == "danger");

  // Through text, as it is stored in the outbox.
  const auto copy = nlohmann::json::parse(json.dump()).get<message>();
  CHECK(copy.kind == original.kind);
  REQUIRE(copy.paragraphs.size() == original.paragraphs.size());
  for (std::size_t p = 0; p < original.paragraphs.size(); ++p) {
    REQUIRE(copy.paragraphs[p].size() == original.paragraphs[p].size());
    for (std::size_t s = 0; s < original.paragraphs[p].size(); ++s) {
      CHECK(copy.paragraphs[p][s].kind == original.paragraphs[p][s].kind);
      CHECK(copy.paragraphs[p][s].value == original.paragraphs[p][s].value);
    }
  }
  CHECK(copy.paragraphs[0][0].kind == span_kind::text);
  CHECK(copy.paragraphs[0][1].kind == span_kind::user_text);
  CHECK(copy.paragraphs[0][2].kind == span_kind::mention);
  CHECK(copy.paragraphs[1][0].kind == span_kind::strong);
  CHECK(copy.paragraphs[1][1].kind == span_kind::code);
  REQUIRE(copy.buttons.size() == 3);
  for (std::size_t b = 0; b < 3; ++b) {
    CHECK(copy.buttons[b].action_id == original.buttons[b].action_id);
    CHECK(copy.buttons[b].label == original.buttons[b].label);
    CHECK(copy.buttons[b].value == original.buttons[b].value);
    CHECK(copy.buttons[b].style == original.buttons[b].style);
    CHECK(copy.buttons[b].confirm == original.buttons[b].confirm);
  }
  CHECK(copy.buttons[1].confirm == "Sure?");
  CHECK(copy.plain_text() == original.plain_text());

  SECTION("every message kind survives") {
    for (const auto kind : {message_kind::reply, message_kind::error, message_kind::announcement, message_kind::status,
                            message_kind::signoff_request, message_kind::decision, message_kind::reminder}) {
      message m;
      m.kind = kind;
      CHECK(nlohmann::json(m).get<message>().kind == kind);
    }
  }
  SECTION("a message without buttons has no buttons key; confirm may be absent") {
    const nlohmann::json bare = message_builder{}.text("x").build();
    CHECK_FALSE(bare.contains("buttons"));
    auto edited = json;
    edited["buttons"][0].erase("confirm");
    CHECK(edited.get<message>().buttons[0].confirm.empty());
  }
  SECTION("unknown names are refused") {
    auto bad = json;
    bad["kind"] = "shout";
    CHECK_THROWS_AS(bad.get<message>(), std::invalid_argument);
    bad = json;
    bad["paragraphs"][0][0]["k"] = "blink";
    CHECK_THROWS_AS(bad.get<message>(), std::invalid_argument);
  }
}

TEST_CASE("neutralize handles very long typed text without deep recursion", "[message]") {
  const std::string long_mention = "<@" + std::string(100000, 'a') + ">";
  const auto result = releasebot::commands::neutralize(long_mention);
  CHECK(result == "@" + std::string(100000, 'a'));
  const auto nested = std::string(5000, '<') + "!here" + std::string(5000, '>');
  CHECK(releasebot::commands::neutralize(nested).find("<!here>") == std::string::npos);
}
