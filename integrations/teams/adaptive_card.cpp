#include "integrations/teams/adaptive_card.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace releasebot::integrations::teams {

namespace {

using commands::button;
using commands::button_style;
using commands::message;
using commands::paragraph;
using commands::span;
using commands::span_kind;
using nlohmann::json;

constexpr std::size_t max_text_blocks = 100;
constexpr std::size_t max_text_only_chars = 400;
constexpr std::size_t max_summary_chars = 200;
constexpr std::string_view ellipsis = "\u2026";
constexpr std::string_view release_channel_words = "the release channel";

std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Characters that Teams Markdown (cards and text messages) reads as formatting, as HTML, or as
// the start of a mention; a backslash before one makes it a plain character.
bool is_markdown_special(char c) {
  static constexpr std::string_view specials = "\\*_`~#[]<>|";
  return specials.find(c) != std::string_view::npos;
}

// Our words or a user's, made plain in Teams Markdown: no emphasis, links, code, headings,
// quotes, tables, HTML or lists can start in them.
std::string escape_markdown(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  bool line_start = true;
  for (std::size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if (line_start && c != ' ' && c != '\t') {
      line_start = false;
      // "- x", "+ x" and "1. x" start a list only at the beginning of a line.
      const bool bullet = (c == '-' || c == '+') && (at + 1 == text.size() || text[at + 1] == ' ');
      std::size_t digits = at;
      while (digits < text.size() && is_digit(text[digits])) ++digits;
      const bool numbered = digits > at && digits < text.size() && (text[digits] == '.' || text[digits] == ')') &&
                            (digits + 1 == text.size() || text[digits + 1] == ' ');
      if (bullet) out += '\\';
      if (numbered) {
        out.append(text, at, digits - at);
        out += '\\';
        at = digits;
        out += text[at];
        continue;
      }
    }
    if (is_markdown_special(c)) out += '\\';
    out += c;
    if (c == '\n' || c == '\r') line_start = true;
  }
  return out;
}

// What a user typed: unable to ping (neutralize) and unable to format (escape).
std::string inert(std::string_view typed) { return escape_markdown(commands::neutralize(typed)); }

// A user id we can put between <at> and </at> and in a mention entity as it is: an Entra object
// id, a "29:…" Teams id or a UPN. Anything else is shown as words and pings nobody.
bool is_mentionable(std::string_view id) {
  if (id.empty()) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_' ||
                    c == ':' || c == '.' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::string mention_text(std::string_view name) { return "<at>" + std::string{name} + "</at>"; }

// The words of a mention: the person's name when the roster named them, else the id as it is.
const std::string& shown_name(const span& piece) { return piece.name.empty() ? piece.value : piece.name; }

// **…** only binds when no space touches the inside of the markers, so spaces go outside.
std::string render_strong(std::string_view value) {
  const auto first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::string{value};
  const auto last = value.find_last_not_of(" \t");
  return std::string{value.substr(0, first)} + "**" + escape_markdown(value.substr(first, last - first + 1)) + "**" +
         std::string{value.substr(last + 1)};
}

// Inside a code span Markdown is off (backslashes included), so only backticks need to go.
std::string render_code(std::string_view value) {
  std::string inner{value};
  std::erase(inner, '`');
  return inner.empty() ? std::string{} : "`" + inner + "`";
}

std::string render_span(const span& piece) {
  switch (piece.kind) {
    case span_kind::text:
      return escape_markdown(piece.value);
    case span_kind::user_text:
      return inert(piece.value);
    case span_kind::mention:
      return is_mentionable(piece.value) ? mention_text(shown_name(piece)) : inert("@" + shown_name(piece));
    case span_kind::strong:
      return render_strong(piece.value);
    case span_kind::channel:
      // Teams has no channel markup a bot can write, and its ids ("19:…") are not for reading.
      return piece.value.starts_with("19:") ? std::string{release_channel_words} : escape_markdown(piece.value);
    case span_kind::code:
      return render_code(piece.value);
  }
  return {};
}

std::string render_paragraph(const paragraph& para) {
  std::string text;
  for (const auto& piece : para) text += render_span(piece);
  return text;
}

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// The rendered paragraphs worth showing (blank ones would be empty TextBlocks), with their sources.
std::vector<std::pair<std::string, const paragraph*>> rendered_paragraphs(const message& body) {
  std::vector<std::pair<std::string, const paragraph*>> lines;
  for (const auto& para : body.paragraphs) {
    auto text = render_paragraph(para);
    if (!is_blank(text)) lines.emplace_back(std::move(text), &para);
  }
  return lines;
}

// One entity per distinct person (mentioned id), in order of first appearance: two people who
// share a name are two entities.
void add_mentions(const paragraph& para, json& entities) {
  for (const auto& piece : para) {
    if (piece.kind != span_kind::mention || !is_mentionable(piece.value)) continue;
    const auto text = mention_text(shown_name(piece));
    bool seen = false;
    for (const auto& entity : entities) seen = seen || entity["mentioned"]["id"] == piece.value;
    if (seen) continue;
    entities.push_back(
        {{"type", "mention"}, {"text", text}, {"mentioned", {{"id", piece.value}, {"name", shown_name(piece)}}}});
  }
}

json text_block(std::string text) { return {{"type", "TextBlock"}, {"text", std::move(text)}, {"wrap", true}}; }

void add_style(json& action, button_style style) {
  if (style == button_style::primary) action["style"] = "positive";
  if (style == button_style::danger) action["style"] = "destructive";
}

json execute_action(const button& b) {
  json action = {{"type", "Action.Execute"}, {"title", b.label}, {"verb", b.action_id}, {"data", {{"request", b.value}}}};
  add_style(action, b.style);
  return action;
}

// Action.Execute has no "are you sure" of its own in 1.4, so a button that asks for one opens an
// inline card (Action.ShowCard) holding the question and the real button: two clicks, as intended.
json button_action(const button& b) {
  if (b.confirm.empty()) return execute_action(b);
  json confirm_card = {{"type", "AdaptiveCard"},
                       {"body", json::array({text_block(escape_markdown(b.confirm))})},
                       {"actions", json::array({execute_action(b)})}};
  json action = {{"type", "Action.ShowCard"}, {"title", b.label}, {"card", std::move(confirm_card)}};
  add_style(action, b.style);
  return action;
}

std::string truncated(std::string_view text, std::size_t limit) {
  if (code_points(text) <= limit) return std::string{text};
  std::size_t count = 0;
  std::size_t at = 0;
  const auto keep = limit - code_points(ellipsis);
  for (; at < text.size(); ++at) {
    if ((static_cast<unsigned char>(text[at]) & 0xC0) != 0x80 && count++ == keep) break;
  }
  return std::string{text.substr(0, at)} + std::string{ellipsis};
}

// The notification line: the first line of the message in plain words (no Markdown, no <at>).
std::string summary_of(const message& body) {
  auto readable = body;
  for (auto& para : readable.paragraphs) {
    for (auto& piece : para) {
      if (piece.kind == span_kind::channel && piece.value.starts_with("19:")) piece.value = release_channel_words;
    }
  }
  const auto plain = readable.plain_text();
  const auto start = plain.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return {};
  const auto end = plain.find_first_of("\r\n", start);
  return truncated(std::string_view{plain}.substr(start, end == std::string::npos ? std::string::npos : end - start),
                   max_summary_chars);
}

}  // namespace

nlohmann::json render_card(const commands::message& body) {
  auto lines = rendered_paragraphs(body);
  std::size_t omitted = 0;
  if (lines.size() > max_text_blocks) {
    omitted = lines.size() - (max_text_blocks - 1);
    lines.resize(max_text_blocks - 1);
  }
  auto blocks = json::array();
  auto mentions = json::array();
  // Only mentions that are on the card: Teams refuses an entity whose text is not there.
  for (auto& [text, para] : lines) {
    blocks.push_back(text_block(std::move(text)));
    add_mentions(*para, mentions);
  }
  if (omitted > 0) {
    blocks.push_back(text_block(std::string{ellipsis} + "and " + std::to_string(omitted) + " more lines"));
  }
  json card = {{"type", "AdaptiveCard"},
               {"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
               {"version", "1.4"},
               {"body", std::move(blocks)}};
  if (!body.buttons.empty()) {
    auto actions = json::array();
    for (const auto& b : body.buttons) actions.push_back(button_action(b));
    card["actions"] = std::move(actions);
  }
  card["msteams"] = {{"width", "Full"}, {"entities", std::move(mentions)}};
  return card;
}

std::string render_text(const commands::message& body) {
  std::string text;
  for (const auto& [line, para] : rendered_paragraphs(body)) {
    if (!text.empty()) text += "\n\n";
    text += line;
  }
  return text;
}

nlohmann::json render_mentions(const commands::message& body) {
  auto mentions = json::array();
  for (const auto& para : body.paragraphs) add_mentions(para, mentions);
  return mentions;
}

nlohmann::json render_activity(const commands::message& body) {
  const auto lines = rendered_paragraphs(body);
  const bool text_only =
      body.buttons.empty() && lines.size() <= 1 && (lines.empty() || code_points(lines.front().first) <= max_text_only_chars);
  if (text_only) {
    return {{"type", "message"},
            {"textFormat", "markdown"},
            {"text", render_text(body)},
            {"summary", summary_of(body)},
            {"entities", render_mentions(body)}};
  }
  // No `text` beside the card: Teams would show it above the card, saying everything twice.
  return {{"type", "message"},
          {"summary", summary_of(body)},
          {"attachments", json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                        {"content", render_card(body)}}})}};
}

}  // namespace releasebot::integrations::teams
