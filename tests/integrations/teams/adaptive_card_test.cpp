#include "integrations/teams/adaptive_card.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace {

using namespace releasebot::integrations::teams;
using releasebot::commands::button;
using releasebot::commands::button_style;
using releasebot::commands::message;
using releasebot::commands::message_builder;
using releasebot::commands::message_kind;
using nlohmann::json;

const std::string aad = "6a1b2c3d-0000-4000-8000-00000000aaaa";

std::string only_text(const message& body) {
  const auto card = render_card(body);
  REQUIRE(card["body"].size() == 1);
  return card["body"][0]["text"].get<std::string>();
}

message user_says(const std::string& typed) { return message_builder{}.text("note: ").user_text(typed).build(); }

}  // namespace

TEST_CASE("a card: a wrapping TextBlock per paragraph, our markup, full width", "[teams]") {
  const auto body = message_builder{message_kind::status}
                        .text("Release ")
                        .code("4.2.0")
                        .text(" is ")
                        .strong("in signoff")
                        .line()
                        .text("owner: ")
                        .mention(aad)
                        .text(", title: ")
                        .user_text("Payments *spring*")
                        .build();
  CHECK(render_card(body) == json::parse(R"({
    "type": "AdaptiveCard",
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "version": "1.4",
    "body": [
      {"type": "TextBlock", "text": "Release `4.2.0` is **in signoff**", "wrap": true},
      {"type": "TextBlock", "text": "owner: <at>6a1b2c3d-0000-4000-8000-00000000aaaa</at>, title: Payments \\*spring\\*",
       "wrap": true}
    ],
    "msteams": {
      "width": "Full",
      "entities": [
        {"type": "mention", "text": "<at>6a1b2c3d-0000-4000-8000-00000000aaaa</at>",
         "mentioned": {"id": "6a1b2c3d-0000-4000-8000-00000000aaaa", "name": "6a1b2c3d-0000-4000-8000-00000000aaaa"}}
      ]
    }
  })"));
}

TEST_CASE("Markdown in typed text is escaped, backslashes included", "[teams]") {
  CHECK(only_text(user_says(R"(**bold** _it_ `x` ~~gone~~ # h [l](https://e.x) a|b \* 2 > 1)")) ==
        R"(note: \*\*bold\*\* \_it\_ \`x\` \~\~gone\~\~ \# h \[l\](https://e.x) a\|b \\\* 2 \> 1)");
  SECTION("lists and quotes cannot start at a line start") {
    CHECK(only_text(message_builder{}.user_text("- one\n+ two\n1. three\n> quote\n4.2.0 ok").build()) ==
          "\\- one\n\\+ two\n1\\. three\n\\> quote\n4.2.0 ok");
  }
  SECTION("our own words are escaped too, code spans are left alone but lose backticks") {
    CHECK(only_text(message_builder{}.text("use snake_case ").code("review <text> [@owner] `x`").build()) ==
          "use snake\\_case `review <text> [@owner] x`");
  }
  SECTION("strong escapes inside and keeps spaces outside its markers") {
    CHECK(only_text(message_builder{}.text("a").strong(" x*y ").text("b").build()) == "a **x\\*y** b");
    CHECK(only_text(message_builder{}.text("a").strong("").code("").text("b").build()) == "ab");
  }
}

TEST_CASE("typed text never pings and never formats", "[teams]") {
  const auto body = user_says("<at>Quinn</at> @here <!channel> <@U123> **bold** @everyone");
  const auto card = render_card(body);
  const auto text = card["body"][0]["text"].get<std::string>();
  CHECK(text == "note: Quinn @\u2060here !channel @U123 \\*\\*bold\\*\\* @\u2060everyone");
  CHECK(text.find("<at>") == std::string::npos);
  CHECK(text.find("**") == std::string::npos);
  CHECK(card["msteams"]["entities"] == json::array());
  CHECK(render_mentions(body) == json::array());

  SECTION("nested and escaped attempts stay inert") {
    const auto sneaky = only_text(user_says("<a<at>t>x</a</at>t> &lt;at&gt;y&lt;/at&gt;"));
    CHECK(sneaky.find("<at>") == std::string::npos);
    CHECK(sneaky.find("<a") == std::string::npos);
  }
  SECTION("a mention of something that is not an id is shown as words") {
    const auto odd = message_builder{}.mention("x</at><at>y").build();
    CHECK(only_text(odd) == "@xy");
    CHECK(render_mentions(odd) == json::array());
  }
}

TEST_CASE("mentions: one entity per person, for cards and for text", "[teams]") {
  const auto body = message_builder{}
                        .mention(aad)
                        .text(" and ")
                        .mention("29:1SamTeamsUserId")
                        .line()
                        .text("again ")
                        .mention(aad)
                        .build();
  const json expected = json::parse(R"([
    {"type": "mention", "text": "<at>6a1b2c3d-0000-4000-8000-00000000aaaa</at>",
     "mentioned": {"id": "6a1b2c3d-0000-4000-8000-00000000aaaa", "name": "6a1b2c3d-0000-4000-8000-00000000aaaa"}},
    {"type": "mention", "text": "<at>29:1SamTeamsUserId</at>",
     "mentioned": {"id": "29:1SamTeamsUserId", "name": "29:1SamTeamsUserId"}}
  ])");
  CHECK(render_mentions(body) == expected);
  CHECK(render_card(body)["msteams"]["entities"] == expected);
  CHECK(render_text(body) ==
        "<at>6a1b2c3d-0000-4000-8000-00000000aaaa</at> and <at>29:1SamTeamsUserId</at>\n\n"
        "again <at>6a1b2c3d-0000-4000-8000-00000000aaaa</at>");
}

TEST_CASE("buttons are Action.Execute with verb, data and style; a confirm asks first", "[teams]") {
  const auto body = message_builder{message_kind::signoff_request}
                        .text("Sign off ")
                        .code("4.2.0")
                        .text(" as qa?")
                        .add_button({"signoff_approve", "Approve", "4.2.0|qa", button_style::primary, ""})
                        .add_button({"signoff_reject", "Reject", "4.2.0|qa", button_style::danger,
                                     "Reject *4.2.0* for qa? The release stops."})
                        .add_button({"signoff_later", "Later", "4.2.0|qa", button_style::plain, ""})
                        .build();
  CHECK(render_card(body)["actions"] == json::parse(R"([
    {"type": "Action.Execute", "title": "Approve", "verb": "signoff_approve", "data": {"request": "4.2.0|qa"},
     "style": "positive"},
    {"type": "Action.ShowCard", "title": "Reject", "style": "destructive",
     "card": {
       "type": "AdaptiveCard",
       "body": [{"type": "TextBlock", "text": "Reject \\*4.2.0\\* for qa? The release stops.", "wrap": true}],
       "actions": [{"type": "Action.Execute", "title": "Reject", "verb": "signoff_reject",
                    "data": {"request": "4.2.0|qa"}, "style": "destructive"}]
     }},
    {"type": "Action.Execute", "title": "Later", "verb": "signoff_later", "data": {"request": "4.2.0|qa"}}
  ])"));
  CHECK_FALSE(render_card(message_builder{}.text("no buttons").build()).contains("actions"));
}

TEST_CASE("at most 100 TextBlocks, the last saying how many lines were left out", "[teams]") {
  message_builder many;
  for (int i = 1; i <= 150; ++i) many.text("line ").text(std::to_string(i)).line();
  many.mention(aad).line();  // line 151, dropped with its mention
  const auto card = render_card(many.build());
  REQUIRE(card["body"].size() == 100);
  CHECK(card["body"][98]["text"] == "line 99");
  CHECK(card["body"][99] == json({{"type", "TextBlock"}, {"text", "\u2026and 52 more lines"}, {"wrap", true}}));
  CHECK(card["msteams"]["entities"] == json::array());

  message_builder exactly;
  for (int i = 1; i <= 100; ++i) exactly.text("line ").text(std::to_string(i)).line();
  const auto full = render_card(exactly.build());
  REQUIRE(full["body"].size() == 100);
  CHECK(full["body"][99]["text"] == "line 100");

  SECTION("blank paragraphs make no empty TextBlocks") {
    const auto sparse = render_card(message_builder{}.text("a").line().text("  ").line().text("b").build());
    CHECK(sparse["body"].size() == 2);
  }
}

TEST_CASE("render_activity: short replies as text, everything else as a card", "[teams]") {
  SECTION("one short paragraph") {
    const auto body = message_builder{}.text("Opened ").code("4.3.0").text(" for ").mention(aad).build();
    CHECK(render_activity(body) == json::parse(R"({
      "type": "message",
      "textFormat": "markdown",
      "text": "Opened `4.3.0` for <at>6a1b2c3d-0000-4000-8000-00000000aaaa</at>",
      "summary": "Opened 4.3.0 for @6a1b2c3d-0000-4000-8000-00000000aaaa",
      "entities": [
        {"type": "mention", "text": "<at>6a1b2c3d-0000-4000-8000-00000000aaaa</at>",
         "mentioned": {"id": "6a1b2c3d-0000-4000-8000-00000000aaaa", "name": "6a1b2c3d-0000-4000-8000-00000000aaaa"}}
      ]
    })"));
  }
  SECTION("buttons make a card, with a plain summary for notifications and no duplicate text") {
    const auto body = message_builder{message_kind::signoff_request}
                          .text("Sign off ")
                          .strong("4.2.0")
                          .text(" as qa?")
                          .add_button({"signoff_approve", "Approve", "4.2.0|qa", button_style::primary, ""})
                          .build();
    const auto activity = render_activity(body);
    CHECK(activity == json{{"type", "message"},
                           {"summary", "Sign off 4.2.0 as qa?"},
                           {"attachments", json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                                         {"content", render_card(body)}}})}});
    CHECK_FALSE(activity.contains("text"));
  }
  SECTION("several paragraphs make a card") {
    const auto body = message_builder{}.text("first").line().text("second").build();
    const auto activity = render_activity(body);
    CHECK(activity["summary"] == "first");
    CHECK(activity["attachments"][0]["content"]["body"].size() == 2);
  }
  SECTION("a long paragraph makes a card, and the summary is cut") {
    const auto body = message_builder{}.user_text(std::string(500, 'w')).build();
    const auto activity = render_activity(body);
    REQUIRE(activity.contains("attachments"));
    CHECK(activity["summary"] == std::string(199, 'w') + "\u2026");
  }
}

TEST_CASE("named mentions: the name between <at> tags, the 29: id in the entity", "[teams]") {
  auto body = message_builder{}.text("qa sign-off requested from ").mention(aad).build();
  releasebot::commands::name_people(body, [](releasebot::commands::span& piece) {
    piece.name = "Quinn Jones";
    piece.value = "29:1QuinnTeamsUserId";
  });
  const json expected = json::parse(R"([
    {"type": "mention", "text": "<at>Quinn Jones</at>",
     "mentioned": {"id": "29:1QuinnTeamsUserId", "name": "Quinn Jones"}}
  ])");
  CHECK(render_mentions(body) == expected);
  CHECK(render_text(body) == "qa sign-off requested from <at>Quinn Jones</at>");
  CHECK(render_activity(body)["summary"] == "qa sign-off requested from @Quinn Jones");
}
