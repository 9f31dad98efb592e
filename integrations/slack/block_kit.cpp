#include "integrations/slack/block_kit.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace releasebot::integrations::slack {

namespace {

using commands::button;
using commands::button_style;
using commands::message;
using commands::paragraph;
using commands::span;
using commands::span_kind;
using nlohmann::json;

constexpr std::size_t max_blocks = 50;
constexpr std::size_t max_section_chars = 3000;
constexpr std::size_t max_button_label_chars = 75;
constexpr std::size_t max_confirm_text_chars = 300;
constexpr std::size_t max_confirm_button_chars = 30;
constexpr std::size_t max_action_elements = 25;
constexpr std::string_view ellipsis = "\u2026";
constexpr std::string_view word_joiner = "\u2060";

enum class markup { mrkdwn, plain };

std::size_t utf8_sequence_length(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// Slack counts characters as JavaScript does (UTF-16 units). That is never fewer than the code
// points, so a text within this count is within Slack's limit however Slack happens to count.
std::size_t slack_units(std::size_t sequence_length) { return sequence_length == 4 ? 2 : 1; }

std::size_t slack_length(std::string_view text) {
  std::size_t units = 0;
  for (std::size_t at = 0; at < text.size();) {
    const auto length = utf8_sequence_length(static_cast<unsigned char>(text[at]));
    units += slack_units(length);
    at += length;
  }
  return units;
}

// Bytes of the longest prefix of whole code points that is at most `limit` Slack characters.
std::size_t prefix_within(std::string_view text, std::size_t limit) {
  std::size_t units = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto length = utf8_sequence_length(static_cast<unsigned char>(text[at]));
    if (units + slack_units(length) > limit || at + length > text.size()) break;
    units += slack_units(length);
    at += length;
  }
  return at;
}

// Moves a cut in escaped mrkdwn back so it splits no &amp;-style entity and no <@ID> mention.
std::size_t markup_safe_cut(std::string_view text, std::size_t cut) {
  const auto open = text.substr(0, cut).rfind('<');
  if (open != std::string_view::npos && text.substr(open, cut - open).find('>') == std::string_view::npos) cut = open;
  const auto window = cut >= 5 ? cut - 5 : 0;
  const auto amp = text.substr(0, cut).rfind('&');
  if (amp != std::string_view::npos && amp >= window &&
      text.substr(amp, cut - amp).find(';') == std::string_view::npos) {
    cut = amp;
  }
  return cut;
}

std::string truncate(std::string_view text, std::size_t limit, markup form) {
  if (slack_length(text) <= limit) return std::string{text};
  auto cut = prefix_within(text, limit - slack_length(ellipsis));
  if (form == markup::mrkdwn) cut = markup_safe_cut(text, cut);
  return std::string{text.substr(0, cut)} + std::string{ellipsis};
}

bool is_user_id(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-' || c == '+';
}

// Slack's automatic parsing may turn a bare "@name" into a mention; a word joiner after an @ that
// starts a word stops that while reading the same. Addresses (bob@example.com) are left alone.
std::string defuse_at_signs(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size(); ++at) {
    out += text[at];
    if (text[at] != '@') continue;
    const bool starts_word = at == 0 || !is_word_char(text[at - 1]);
    const bool names_something = at + 1 < text.size() && text[at + 1] != ' ' && text[at + 1] != '\n' &&
                                 text.substr(at + 1, word_joiner.size()) != word_joiner;
    if (starts_word && names_something) out += word_joiner;
  }
  return out;
}

// What a user typed, made unable to ping or to inject markup however it is rendered.
std::string inert(std::string_view typed) { return escape(defuse_at_signs(commands::neutralize(typed))); }

std::string without_backticks(std::string_view text) {
  std::string out{text};
  std::erase(out, '`');
  return out;
}

std::string wrap(std::string_view mark, const std::string& inner, markup form) {
  if (form == markup::plain || inner.empty()) return inner;
  return std::string{mark} + inner + std::string{mark};
}

std::string render_span(const span& piece, markup form) {
  switch (piece.kind) {
    case span_kind::text:
      return escape(piece.value);
    case span_kind::user_text:
      return inert(piece.value);
    case span_kind::mention:
      // Slack shows <@U…> by name in messages; plain text (notifications) needs the name itself.
      if (form == markup::plain && !piece.name.empty()) return inert("@" + piece.name);
      return is_user_id(piece.value) ? "<@" + piece.value + ">" : inert("@" + (piece.name.empty() ? piece.value : piece.name));
    case span_kind::strong:
      return wrap("*", escape(piece.value), form);
    case span_kind::channel:
      return is_user_id(piece.value) ? "<#" + piece.value + ">" : escape(piece.value);
    case span_kind::code:
      return wrap("`", escape(form == markup::mrkdwn ? without_backticks(piece.value) : piece.value), form);
  }
  return {};
}

std::string render_paragraph(const paragraph& para, markup form) {
  std::string text;
  for (const auto& piece : para) text += render_span(piece, form);
  return text;
}

std::string render_message(const message& body, markup form) {
  std::string text;
  for (std::size_t i = 0; i < body.paragraphs.size(); ++i) {
    if (i > 0) text += '\n';
    text += render_paragraph(body.paragraphs[i], form);
  }
  return text;
}

bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// Where to end a section of at most `limit` bytes: a line break late enough to be worth it, else
// a space, else any break, else a hard cut that keeps markup whole. Returns {end, resume}.
std::pair<std::size_t, std::size_t> section_break(std::string_view text, std::size_t limit) {
  const auto window = text.substr(0, std::min(limit + 1, text.size()));
  const auto line = window.rfind('\n');
  const auto space = window.rfind(' ');
  auto pick = [](std::size_t at) { return std::pair{at, at + 1}; };
  if (line != std::string_view::npos && line > limit / 2) return pick(line);
  if (space != std::string_view::npos && space > 0) return pick(space);
  if (line != std::string_view::npos && line > 0) return pick(line);
  const auto cut = markup_safe_cut(text, limit);
  return cut > 0 ? std::pair{cut, cut} : std::pair{limit, limit};
}

std::vector<std::string> split_sections(std::string_view text) {
  std::vector<std::string> sections;
  while (slack_length(text) > max_section_chars) {
    const auto [end, resume] = section_break(text, prefix_within(text, max_section_chars));
    sections.emplace_back(text.substr(0, end));
    text.remove_prefix(resume);
  }
  sections.emplace_back(text);
  std::erase_if(sections, [](const std::string& section) { return is_blank(section); });
  return sections;
}

json plain_text(std::string text) { return {{"type", "plain_text"}, {"text", std::move(text)}}; }

json mrkdwn_text(std::string text) { return {{"type", "mrkdwn"}, {"text", std::move(text)}}; }

json section_block(std::string text) { return {{"type", "section"}, {"text", mrkdwn_text(std::move(text))}}; }

json confirm_dialog(const button& b) {
  json dialog = {{"title", plain_text("Are you sure?")},
                 {"text", mrkdwn_text(truncate(escape(b.confirm), max_confirm_text_chars, markup::mrkdwn))},
                 {"confirm", plain_text(truncate(b.label, max_confirm_button_chars, markup::plain))},
                 {"deny", plain_text("Cancel")}};
  if (b.style == button_style::danger) dialog["style"] = "danger";
  return dialog;
}

json button_element(const button& b) {
  auto label = plain_text(truncate(b.label, max_button_label_chars, markup::plain));
  label["emoji"] = true;
  json element = {{"type", "button"}, {"action_id", b.action_id}, {"text", std::move(label)}, {"value", b.value}};
  if (b.style == button_style::primary) element["style"] = "primary";
  if (b.style == button_style::danger) element["style"] = "danger";
  if (!b.confirm.empty()) element["confirm"] = confirm_dialog(b);
  return element;
}

json actions_block(const std::vector<button>& buttons) {
  auto elements = json::array();
  const auto count = std::min(buttons.size(), max_action_elements);
  for (std::size_t i = 0; i < count; ++i) elements.push_back(button_element(buttons[i]));
  return {{"type", "actions"}, {"block_id", "release_actions"}, {"elements", std::move(elements)}};
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_mrkdwn(const commands::message& body) { return render_message(body, markup::mrkdwn); }

std::string render_fallback(const commands::message& body) { return render_message(body, markup::plain); }

nlohmann::json render_blocks(const commands::message& body) {
  std::vector<std::string> sections;
  for (const auto& para : body.paragraphs) {
    for (auto& section : split_sections(render_paragraph(para, markup::mrkdwn))) sections.push_back(std::move(section));
  }
  // The buttons are what a sign-off request is for, so the cap takes text, never the actions.
  const auto section_budget = max_blocks - (body.buttons.empty() ? 0 : 1);
  if (sections.size() > section_budget) {
    const auto omitted = sections.size() - (section_budget - 1);
    sections.resize(section_budget - 1);
    sections.push_back(std::string{ellipsis} + "and " + std::to_string(omitted) + " more lines");
  }
  auto blocks = json::array();
  for (auto& section : sections) blocks.push_back(section_block(std::move(section)));
  if (!body.buttons.empty()) blocks.push_back(actions_block(body.buttons));
  return blocks;
}

}  // namespace releasebot::integrations::slack
