#include "integrations/slack/block_kit.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace releasebot::commands;
using namespace releasebot::integrations::slack;
using nlohmann::json;

const std::string joiner = "\u2060";  // what neutralisation puts after an @ so it cannot ping

bool contains(const std::string& haystack, std::string_view needle) { return haystack.find(needle) != std::string::npos; }

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

message one_paragraph(std::string_view text) { return message_builder{}.text(text).build(); }

std::vector<std::string> section_texts(const json& blocks) {
  std::vector<std::string> texts;
  for (const auto& block : blocks) {
    if (block.at("type") == "section") texts.push_back(block.at("text").at("text").get<std::string>());
  }
  return texts;
}

}  // namespace

TEST_CASE("escape turns only & < > into entities", "[slack][block_kit]") {
  CHECK(escape("a & b < c > d") == "a &amp; b &lt; c &gt; d");
  CHECK(escape("&amp;") == "&amp;amp;");
  CHECK(escape("*bold* _it_ `code` \"quoted\" 'single' @here") == "*bold* _it_ `code` \"quoted\" 'single' @here");
  CHECK(escape("") == "");
  CHECK(escape("r\u00e9sum\u00e9 \U0001F680") == "r\u00e9sum\u00e9 \U0001F680");
}

TEST_CASE("render_mrkdwn marks up our spans and escapes every one of them", "[slack][block_kit]") {
  const auto body = message_builder{message_kind::announcement}
                        .text("Release ")
                        .code("4.2.0")
                        .text(" opened by ")
                        .mention("U9")
                        .line()
                        .strong("R&D")
                        .text(" <ok> & done")
                        .build();
  CHECK(render_mrkdwn(body) == "Release `4.2.0` opened by <@U9>\n*R&amp;D* &lt;ok&gt; &amp; done");
  CHECK(render_fallback(body) == "Release 4.2.0 opened by <@U9>\nR&amp;D &lt;ok&gt; &amp; done");
}

TEST_CASE("code spans lose their backticks and empty markup is not emitted", "[slack][block_kit]") {
  CHECK(render_mrkdwn(message_builder{}.code("a`b`c<d>").build()) == "`abc&lt;d&gt;`");
  CHECK(render_mrkdwn(message_builder{}.text("x").code("``").strong("").text("y").build()) == "xy");
  CHECK(render_fallback(message_builder{}.code("1.0").strong("now").build()) == "1.0now");
}

TEST_CASE("empty paragraphs stay blank lines in text but make no section", "[slack][block_kit]") {
  const auto body = message_builder{}.text("one").line().line().text("two").line().text("   ").build();
  CHECK(render_mrkdwn(body) == "one\n\ntwo\n   ");
  CHECK(render_blocks(body) == json::parse(R"([
    {"type": "section", "text": {"type": "mrkdwn", "text": "one"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "two"}}
  ])"));
}

TEST_CASE("mentions render as <@ID> only for a well-formed user id", "[slack][block_kit]") {
  CHECK(render_mrkdwn(message_builder{}.mention("U9").build()) == "<@U9>");
  CHECK(render_mrkdwn(message_builder{}.mention("W0123ABC").build()) == "<@W0123ABC>");
  CHECK(render_fallback(message_builder{}.mention("U9").build()) == "<@U9>");
  CHECK(render_blocks(message_builder{}.text("cc ").mention("U9").build()) ==
        json::parse(R"([{"type": "section", "text": {"type": "mrkdwn", "text": "cc <@U9>"}}])"));

  // Anything else is shown as the plain words, never as markup and never as a broadcast.
  CHECK(render_mrkdwn(message_builder{}.mention("bob").build()) == "@" + joiner + "bob");
  CHECK(render_mrkdwn(message_builder{}.mention("u9").build()) == "@" + joiner + "u9");
  CHECK(render_mrkdwn(message_builder{}.mention("U9>x").build()) == "@" + joiner + "U9&gt;x");
  CHECK(render_mrkdwn(message_builder{}.mention("here").build()) == "@" + joiner + "here");
  CHECK(render_fallback(message_builder{}.mention("!channel").build()) == "@" + joiner + "!channel");
  CHECK_FALSE(contains(render_mrkdwn(message_builder{}.mention("U1><!here").build()), "<!here"));
}

TEST_CASE("user text is neutralised and escaped", "[slack][block_kit]") {
  auto mrkdwn = [](std::string_view typed) { return render_mrkdwn(message_builder{}.user_text(typed).build()); };
  CHECK(mrkdwn("<!channel> ship it") == "!channel ship it");
  CHECK(mrkdwn("<!here|here> now") == "!here|here now");
  CHECK(mrkdwn("@here now") == "@" + joiner + "here now");
  CHECK(mrkdwn("thanks <@U123>") == "thanks @" + joiner + "U123");
  CHECK(mrkdwn("hi <at>x</at>") == "hi x");
  CHECK(mrkdwn("a < b & c > d") == "a &lt; b &amp; c &gt; d");
  CHECK(mrkdwn("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;");
  CHECK(mrkdwn("mail bob@example.com") == "mail bob@example.com");
  CHECK(mrkdwn("a lone @ sign") == "a lone @ sign");
  CHECK(render_fallback(message_builder{}.user_text("@channel <b>").build()) == "@" + joiner + "channel &lt;b&gt;");
}

TEST_CASE("a title typed by a user never pings, in any rendering", "[slack][block_kit]") {
  for (const std::string title :
       {"<!channel>", "<!here>", "<!everyone>", "@here", "@channel", "@everyone", "<@U123>", "<@U123|bob>",
        "<at>x</at>", "<<!channel>>", "<!chan<at>nel>", "&lt;!here&gt;", "<!subteam^S1>", "x <!here> <@U123> y"}) {
    INFO(title);
    const auto body = message_builder{message_kind::announcement}
                          .text("Release ")
                          .code("4.2.0")
                          .text(": ")
                          .user_text(title)
                          .line()
                          .text("Owner ")
                          .mention("U9")
                          .add_button({"signoff_approve", "Approve", "4.2.0", button_style::primary, "Approve 4.2.0?"})
                          .build();
    for (const auto& rendered : {render_mrkdwn(body), render_fallback(body), render_blocks(body).dump()}) {
      INFO(rendered);
      for (const std::string_view ping : {"<!channel>", "<!here>", "<!everyone>", "<@U123>", "<!subteam", "@here",
                                          "@channel", "@everyone", "<at>", "<!"}) {
        CHECK_FALSE(contains(rendered, ping));
      }
      CHECK(contains(rendered, "<@U9>"));
    }
  }
}

TEST_CASE("render_blocks renders sections and an actions block with styles and confirms", "[slack][block_kit]") {
  const auto body = message_builder{message_kind::signoff_request}
                        .text("Sign-off for ")
                        .code("4.2.0")
                        .text(" requested from ")
                        .mention("U9")
                        .line()
                        .text("Title: ")
                        .user_text("R&D <beta>")
                        .add_button({"signoff_approve", "Approve", "4.2.0|qa", button_style::primary, ""})
                        .add_button({"signoff_reject", "Reject", "4.2.0|qa", button_style::danger,
                                     "Reject 4.2.0 for <qa> & tell the owner?"})
                        .add_button({"release_status", "Status", "4.2.0", button_style::plain, "Show the status?"})
                        .build();
  CHECK(render_blocks(body) == json::parse(R"([
    {"type": "section", "text": {"type": "mrkdwn", "text": "Sign-off for `4.2.0` requested from <@U9>"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "Title: R&amp;D &lt;beta&gt;"}},
    {"type": "actions", "block_id": "release_actions", "elements": [
      {"type": "button", "action_id": "signoff_approve",
       "text": {"type": "plain_text", "text": "Approve", "emoji": true},
       "value": "4.2.0|qa", "style": "primary"},
      {"type": "button", "action_id": "signoff_reject",
       "text": {"type": "plain_text", "text": "Reject", "emoji": true},
       "value": "4.2.0|qa", "style": "danger",
       "confirm": {"title": {"type": "plain_text", "text": "Are you sure?"},
                   "text": {"type": "mrkdwn", "text": "Reject 4.2.0 for &lt;qa&gt; &amp; tell the owner?"},
                   "confirm": {"type": "plain_text", "text": "Reject"},
                   "deny": {"type": "plain_text", "text": "Cancel"},
                   "style": "danger"}},
      {"type": "button", "action_id": "release_status",
       "text": {"type": "plain_text", "text": "Status", "emoji": true},
       "value": "4.2.0",
       "confirm": {"title": {"type": "plain_text", "text": "Are you sure?"},
                   "text": {"type": "mrkdwn", "text": "Show the status?"},
                   "confirm": {"type": "plain_text", "text": "Status"},
                   "deny": {"type": "plain_text", "text": "Cancel"}}}
    ]}
  ])"));
}

TEST_CASE("button labels and confirm texts are cut to Slack's limits", "[slack][block_kit]") {
  const auto long_label = repeat("a", 80);
  const auto long_confirm = repeat("b", 298) + "&&";  // escaped, the cut lands inside "&amp;"
  const auto body = message_builder{}
                        .text("Pick")
                        .add_button({"x", long_label, "v", button_style::danger, long_confirm})
                        .add_button({"y", repeat("\U0001F680", 40), "w", button_style::plain, ""})
                        .build();
  const auto blocks = render_blocks(body);
  const auto& first = blocks.at(1).at("elements").at(0);
  CHECK(first.at("text").at("text") == repeat("a", 74) + "\u2026");
  CHECK(first.at("confirm").at("confirm").at("text") == repeat("a", 29) + "\u2026");
  CHECK(first.at("confirm").at("text").at("text") == repeat("b", 298) + "\u2026");
  // Slack counts an emoji outside the BMP as two characters: 37 of them and the ellipsis make 75.
  CHECK(blocks.at(1).at("elements").at(1).at("text").at("text") == repeat("\U0001F680", 37) + "\u2026");
}

TEST_CASE("an actions block holds at most 25 buttons", "[slack][block_kit]") {
  message_builder builder;
  builder.text("Many");
  for (int i = 0; i < 30; ++i) builder.add_button({"b" + std::to_string(i), "B", "v", button_style::plain, ""});
  const auto blocks = render_blocks(builder.build());
  REQUIRE(blocks.size() == 2);
  CHECK(blocks.at(1).at("elements").size() == 25);
  CHECK(blocks.at(1).at("elements").at(24).at("action_id") == "b24");
}

TEST_CASE("no buttons, no actions block", "[slack][block_kit]") {
  CHECK(render_blocks(one_paragraph("just text")) ==
        json::parse(R"([{"type": "section", "text": {"type": "mrkdwn", "text": "just text"}}])"));
  CHECK(render_blocks(message{}) == json::array());
}

TEST_CASE("a paragraph over 3000 characters is split at a space", "[slack][block_kit]") {
  std::vector<std::string> words(800, "abcd");
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
  REQUIRE(text.size() == 3999);
  const auto sections = section_texts(render_blocks(one_paragraph(text)));
  REQUIRE(sections.size() == 2);
  CHECK(sections[0].size() == 2999);
  CHECK(sections[1].size() == 999);
  CHECK(sections[0] + " " + sections[1] == text);
}

TEST_CASE("a paragraph over 3000 characters prefers a line break", "[slack][block_kit]") {
  const auto text = repeat("a b ", 500) + "\n" + repeat("c", 1500);  // 2000 + 1 + 1500
  const auto sections = section_texts(render_blocks(one_paragraph(text)));
  REQUIRE(sections.size() == 2);
  CHECK(sections[0] == repeat("a b ", 500));
  CHECK(sections[1] == repeat("c", 1500));
}

TEST_CASE("a paragraph without spaces is cut hard, but never inside an entity or a mention", "[slack][block_kit]") {
  CHECK(section_texts(render_blocks(one_paragraph(repeat("x", 3500)))) ==
        std::vector<std::string>{repeat("x", 3000), repeat("x", 500)});

  const auto entities = section_texts(render_blocks(one_paragraph(repeat("x", 2998) + "&&&")));
  CHECK(entities == std::vector<std::string>{repeat("x", 2998), "&amp;&amp;&amp;"});

  const auto mention = section_texts(render_blocks(message_builder{}.text(repeat("x", 2997)).mention("U12345").build()));
  CHECK(mention == std::vector<std::string>{repeat("x", 2997), "<@U12345>"});
}

TEST_CASE("sections are measured in characters, not bytes", "[slack][block_kit]") {
  // 3000 two-byte characters fit; an emoji counts as two, as Slack counts it.
  CHECK(section_texts(render_blocks(one_paragraph(repeat("\u00e9", 3000)))).size() == 1);
  CHECK(section_texts(render_blocks(one_paragraph(repeat("\u00e9", 3001)))) ==
        std::vector<std::string>{repeat("\u00e9", 3000), "\u00e9"});
  CHECK(section_texts(render_blocks(one_paragraph(repeat("\U0001F680", 1501)))) ==
        std::vector<std::string>{repeat("\U0001F680", 1500), "\U0001F680"});
}

TEST_CASE("at most 50 blocks: the last section says how many lines are left out", "[slack][block_kit]") {
  auto numbered = [](int count) {
    message_builder builder;
    for (int i = 1; i <= count; ++i) builder.text("line " + std::to_string(i)).line();
    return builder;
  };

  const auto exactly = render_blocks(numbered(50).build());
  CHECK(exactly.size() == 50);
  CHECK(exactly.at(49).at("text").at("text") == "line 50");

  const auto blocks = render_blocks(numbered(60).build());
  REQUIRE(blocks.size() == 50);
  CHECK(blocks.at(48).at("text").at("text") == "line 49");
  CHECK(blocks.at(49) == json::parse(R"({"type": "section", "text": {"type": "mrkdwn", "text": "…and 11 more lines"}})"));

  // The buttons are kept: the notice gives way to the actions block.
  const auto with_buttons =
      render_blocks(numbered(60).add_button({"signoff_approve", "Approve", "v", button_style::primary, ""}).build());
  REQUIRE(with_buttons.size() == 50);
  CHECK(with_buttons.at(47).at("text").at("text") == "line 48");
  CHECK(with_buttons.at(48).at("text").at("text") == "\u2026and 12 more lines");
  CHECK(with_buttons.at(49).at("type") == "actions");
}
