#include "commands/message.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace releasebot::commands {

namespace {

constexpr std::array span_kind_names{"text", "user_text", "mention", "strong", "code", "channel"};
constexpr std::array button_style_names{"plain", "primary", "danger"};
constexpr std::array message_kind_names{"reply",           "error",    "announcement", "status",
                                        "signoff_request", "decision", "reminder"};

template <typename Enum, std::size_t N>
Enum enum_from_name(const std::array<const char*, N>& names, const std::string& name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i);
  }
  throw std::invalid_argument{"unknown name '" + name + "' in a stored message"};
}

}  // namespace

std::string message::plain_text() const {
  std::string text;
  for (const auto& para : paragraphs) {
    if (!text.empty()) text += '\n';
    for (const auto& piece : para) {
      switch (piece.kind) {
        case span_kind::mention:
          text += '@' + (piece.name.empty() ? piece.value : piece.name);
          break;
        case span_kind::user_text:
          text += neutralize(piece.value);
          break;
        default:
          text += piece.value;
      }
    }
  }
  return text;
}

void name_people(message& body, const std::function<void(span&)>& name) {
  for (auto& para : body.paragraphs) {
    for (auto& piece : para) {
      if (piece.kind == span_kind::mention) name(piece);
    }
  }
}

std::vector<std::string> mentioned_people(const message& body) {
  std::vector<std::string> people;
  for (const auto& para : body.paragraphs) {
    for (const auto& piece : para) {
      if (piece.kind == span_kind::mention && std::find(people.begin(), people.end(), piece.value) == people.end()) {
        people.push_back(piece.value);
      }
    }
  }
  return people;
}

message_builder& message_builder::text(std::string_view value) {
  current_.push_back({span_kind::text, std::string{value}, {}});
  return *this;
}
message_builder& message_builder::user_text(std::string_view value) {
  current_.push_back({span_kind::user_text, std::string{value}, {}});
  return *this;
}
message_builder& message_builder::mention(std::string_view user_id) {
  current_.push_back({span_kind::mention, std::string{user_id}, {}});
  return *this;
}
message_builder& message_builder::strong(std::string_view value) {
  current_.push_back({span_kind::strong, std::string{value}, {}});
  return *this;
}
message_builder& message_builder::code(std::string_view value) {
  current_.push_back({span_kind::code, std::string{value}, {}});
  return *this;
}
message_builder& message_builder::channel(std::string_view channel_id) {
  current_.push_back({span_kind::channel, std::string{channel_id}, {}});
  return *this;
}
message_builder& message_builder::line() {
  message_.paragraphs.push_back(std::move(current_));
  current_.clear();
  return *this;
}
message_builder& message_builder::add_button(button value) {
  message_.buttons.push_back(std::move(value));
  return *this;
}
message message_builder::build() {
  if (!current_.empty()) line();
  return std::move(message_);
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }
char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Length of a Teams mention tag (<at>, </at>, < at >) starting at `at`, or 0.
std::size_t teams_tag_length(std::string_view text, std::size_t at) {
  std::size_t i = at + 1;
  while (i < text.size() && is_space(text[i])) ++i;
  if (i < text.size() && text[i] == '/') ++i;
  while (i < text.size() && is_space(text[i])) ++i;
  if (i + 1 >= text.size() || lower_ascii(text[i]) != 'a' || lower_ascii(text[i + 1]) != 't') return 0;
  i += 2;
  while (i < text.size() && is_space(text[i])) ++i;
  return i < text.size() && text[i] == '>' ? i - at + 1 : 0;
}

// One pass: Slack markup (<!here>, <@U1>, <#C1>, <!subteam^S1>) loses its brackets, Teams <at>
// tags go. Returns whether anything changed.
bool strip_markup_once(std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool changed = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      if (const auto tag = teams_tag_length(text, i); tag > 0) {
        i += tag - 1;
        changed = true;
        continue;
      }
      if (i + 1 < text.size() && (text[i + 1] == '!' || text[i + 1] == '@' || text[i + 1] == '#')) {
        const auto close = text.find_first_of("<>", i + 1);
        if (close != std::string::npos && text[close] == '>') {
          out.append(text, i + 1, close - i - 1);
          i = close;
          changed = true;
          continue;
        }
      }
    }
    out += text[i];
  }
  text = std::move(out);
  return changed;
}

}  // namespace

std::string neutralize(std::string_view typed) {
  // A hand-written scanner rather than std::regex, whose recursion overflows the stack on long text.
  // Repeated until nothing changes: removing one layer must not assemble a new ping from what is
  // left ("<<!here>>", "<!chan<at>nel>"). Every pass that changes the text shortens it, so this ends.
  std::string text{typed};
  while (strip_markup_once(text)) {
  }
  // The bare broadcast words get a word joiner after the @ so no client treats them as a ping.
  static constexpr std::string_view broadcast_words[] = {"here", "channel", "everyone", "all"};
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] != '@') continue;
    for (const auto word : broadcast_words) {
      if (i + 1 + word.size() > text.size()) continue;
      bool same = true;
      for (std::size_t k = 0; k < word.size(); ++k) same = same && lower_ascii(text[i + 1 + k]) == word[k];
      const auto after = i + 1 + word.size();
      if (same && (after == text.size() || !is_word_char(text[after]))) {
        out += "\u2060";
        break;
      }
    }
  }
  return out;
}

void to_json(nlohmann::json& json, const message& value) {
  json = nlohmann::json::object();
  json["kind"] = message_kind_names[static_cast<std::size_t>(value.kind)];
  auto& paragraphs = json["paragraphs"] = nlohmann::json::array();
  for (const auto& para : value.paragraphs) {
    auto spans = nlohmann::json::array();
    for (const auto& piece : para) {
      spans.push_back({{"k", span_kind_names[static_cast<std::size_t>(piece.kind)]}, {"v", piece.value}});
    }
    paragraphs.push_back(std::move(spans));
  }
  if (!value.buttons.empty()) {
    auto& buttons = json["buttons"] = nlohmann::json::array();
    for (const auto& b : value.buttons) {
      buttons.push_back({{"action_id", b.action_id},
                         {"label", b.label},
                         {"value", b.value},
                         {"style", button_style_names[static_cast<std::size_t>(b.style)]},
                         {"confirm", b.confirm}});
    }
  }
}

void from_json(const nlohmann::json& json, message& value) {
  value = message{};
  value.kind = enum_from_name<message_kind>(message_kind_names, json.at("kind").get<std::string>());
  for (const auto& spans : json.at("paragraphs")) {
    paragraph para;
    for (const auto& piece : spans) {
      para.push_back({enum_from_name<span_kind>(span_kind_names, piece.at("k").get<std::string>()),
                      piece.at("v").get<std::string>(), {}});
    }
    value.paragraphs.push_back(std::move(para));
  }
  if (json.contains("buttons")) {
    for (const auto& b : json.at("buttons")) {
      value.buttons.push_back({b.at("action_id").get<std::string>(), b.at("label").get<std::string>(),
                               b.at("value").get<std::string>(),
                               enum_from_name<button_style>(button_style_names, b.at("style").get<std::string>()),
                               b.value("confirm", std::string{})});
    }
  }
}

}  // namespace releasebot::commands
