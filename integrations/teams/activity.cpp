#include "integrations/teams/activity.hpp"

#include "integrations/net/json_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace releasebot::integrations::teams {

namespace {

using nlohmann::json;

constexpr std::size_t max_body_bytes = 256 * 1024;
constexpr std::size_t max_text_chars = 40'000;
constexpr std::string_view thread_marker = ";messageid=";

using malformed = net::malformed_json;
using node = net::json_reader;

[[noreturn]] void fail(std::string problem) { net::reject_json(std::move(problem)); }

std::size_t code_points(std::string_view text) {
  std::size_t count = 0;
  for (const char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// ---- HTML → plain words ----------------------------------------------------------------------

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool starts_with_ci(std::string_view text, std::size_t at, std::string_view prefix) {
  if (at + prefix.size() > text.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower_ascii(text[at + i]) != prefix[i]) return false;
  }
  return true;
}

std::size_t find_ci(std::string_view text, std::string_view needle, std::size_t from) {
  for (std::size_t at = from; at + needle.size() <= text.size(); ++at) {
    if (starts_with_ci(text, at, needle)) return at;
  }
  return std::string_view::npos;
}

// The next occurrence of a needle at or after a position that only moves forward. Remembering the
// last answer keeps a text full of unclosed '<' or '<at>' linear to scan, not quadratic.
class forward_search {
public:
  forward_search(std::string_view text, std::string_view needle) : text_{text}, needle_{needle} {}

  std::size_t from(std::size_t at) {
    if (!known_ || (found_ != std::string_view::npos && found_ < at)) {
      found_ = find_ci(text_, needle_, at);
      known_ = true;
    }
    return found_;
  }

private:
  std::string_view text_;
  std::string_view needle_;
  std::size_t found_ = std::string_view::npos;
  bool known_ = false;
};

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point == 0 || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    code_point = 0xFFFD;
  }
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// The entity starting at text[at] == '&': appends what it stands for and returns its length, or
// returns 0 when it is not one we know (the '&' is then kept as typed).
std::size_t decode_entity(std::string_view text, std::size_t at, std::string& out) {
  static constexpr std::pair<std::string_view, std::string_view> named[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&nbsp;", " "}};
  for (const auto& [entity, replacement] : named) {
    if (text.substr(at, entity.size()) == entity) {
      out += replacement;
      return entity.size();
    }
  }
  if (at + 2 >= text.size() || text[at + 1] != '#') return 0;
  const bool hex = text[at + 2] == 'x' || text[at + 2] == 'X';
  std::size_t i = at + (hex ? 3 : 2);
  std::uint32_t value = 0;
  std::size_t digits = 0;
  for (; i < text.size() && digits < 8; ++i, ++digits) {
    const char c = text[i];
    std::uint32_t digit = 0;
    if (is_digit(c)) {
      digit = static_cast<std::uint32_t>(c - '0');
    } else if (hex && lower_ascii(c) >= 'a' && lower_ascii(c) <= 'f') {
      digit = static_cast<std::uint32_t>(lower_ascii(c) - 'a' + 10);
    } else {
      break;
    }
    value = value * (hex ? 16 : 10) + digit;
  }
  if (digits == 0 || i >= text.size() || text[i] != ';') return 0;
  // A non-breaking space (&#160;) is a space to the parser, like &nbsp;.
  if (value == 0xA0) {
    out += ' ';
  } else {
    append_utf8(out, value);
  }
  return i - at + 1;
}

// The length of an HTML tag starting at text[at] == '<', or 0 when the '<' starts no tag.
std::size_t tag_length(std::string_view text, std::size_t at, forward_search& next_bracket) {
  if (at + 1 >= text.size()) return 0;
  const char next = text[at + 1];
  if (!is_alpha(next) && next != '/' && next != '!') return 0;
  const auto close = next_bracket.from(at + 1);
  return close == std::string_view::npos ? 0 : close - at + 1;
}

// Tags that end a line or a block: dropping them must leave a word break behind.
bool breaks_words(std::string_view tag) {
  static constexpr std::string_view names[] = {"p",  "div", "br", "li", "ul", "ol", "tr", "td", "th", "table",
                                               "h1", "h2",  "h3", "h4", "h5", "h6", "pre", "blockquote", "hr"};
  std::size_t i = 1;
  if (i < tag.size() && tag[i] == '/') ++i;
  std::string name;
  while (i < tag.size() && (is_alpha(tag[i]) || is_digit(tag[i]))) name += lower_ascii(tag[i++]);
  for (const auto candidate : names) {
    if (name == candidate) return true;
  }
  return false;
}

// Entities decoded and tags dropped; no mention handling (for the words inside <at>…</at>).
std::string plain_words(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  forward_search next_bracket{html, ">"};
  for (std::size_t at = 0; at < html.size();) {
    if (html[at] == '&') {
      if (const auto used = decode_entity(html, at, out); used > 0) {
        at += used;
        continue;
      }
    } else if (html[at] == '<') {
      if (const auto tag = tag_length(html, at, next_bracket); tag > 0) {
        if (breaks_words(html.substr(at, tag))) out += ' ';
        at += tag;
        continue;
      }
    }
    out += html[at++];
  }
  return out;
}

// Runs of whitespace (and U+00A0) become one space; the ends are trimmed.
std::string collapse_whitespace(std::string_view text) {
  constexpr std::string_view nbsp = "\xC2\xA0";
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (std::size_t at = 0; at < text.size();) {
    if (is_space(text[at]) || text.substr(at, nbsp.size()) == nbsp) {
      pending_space = true;
      at += is_space(text[at]) ? 1 : nbsp.size();
      continue;
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += text[at++];
  }
  return out;
}

// ---- mentions ----------------------------------------------------------------------------------

struct mention_entity {
  std::string text;  // "<at>Quinn Jones</at>", as it appears in the message text
  std::string id;    // mentioned.id: "29:…" for a user, "28:…" for a bot, "19:…" for a channel
  std::string aad_object_id;
  std::string name;  // whitespace collapsed, to compare with the words between the tags
  bool used = false;
};

std::vector<mention_entity> mention_entities(const node& activity) {
  std::vector<mention_entity> mentions;
  const json* entities = activity.find("entities");
  if (entities == nullptr) return mentions;
  if (!entities->is_array()) fail(std::string{"entities is "} + entities->type_name() + ", expected an array");
  // Other entities (clientInfo …) are not ours to judge; a mention without a usable shape is
  // treated as absent, and its <at> text then reads as plain words.
  for (const auto& entity : *entities) {
    if (!entity.is_object() || entity.value("type", json{}) != "mention") continue;
    const auto text = entity.find("text");
    const auto mentioned = entity.find("mentioned");
    if (text == entity.end() || !text->is_string() || mentioned == entity.end() || !mentioned->is_object()) continue;
    const auto id = mentioned->find("id");
    if (id == mentioned->end() || !id->is_string() || id->get_ref<const std::string&>().empty()) continue;
    mention_entity mention;
    mention.text = text->get<std::string>();
    mention.id = id->get<std::string>();
    if (const auto aad = mentioned->find("aadObjectId"); aad != mentioned->end() && aad->is_string()) {
      mention.aad_object_id = aad->get<std::string>();
    }
    if (const auto name = mentioned->find("name"); name != mentioned->end() && name->is_string()) {
      mention.name = collapse_whitespace(name->get<std::string>());
    }
    mentions.push_back(std::move(mention));
  }
  return mentions;
}

struct mention_context {
  std::vector<mention_entity> entities;
  std::string bot_ids[2];      // "28:<app id>" and recipient.id
  std::string bot_name;        // recipient.name
  std::string sender_chat_id;  // from.id
  std::string sender_aad_id;   // from.aadObjectId
};

bool is_bot(const mention_context& context, std::string_view id) {
  return !id.empty() && (id == context.bot_ids[0] || id == context.bot_ids[1]);
}

// A mention id the rest of the bot can use as a user: the stable Entra object id when Teams gives
// it, else the Teams user id. Channels, tags and other bots have no user id (empty).
std::string user_id_of(const mention_context& context, const mention_entity& mention) {
  if (!mention.aad_object_id.empty()) return mention.aad_object_id;
  if (mention.id == context.sender_chat_id && !context.sender_aad_id.empty()) return context.sender_aad_id;
  if (mention.id.starts_with("29:") || mention.id.starts_with("8:orgid:")) return mention.id;
  return {};
}

// A user id goes into the text only if the parser will read it back as one <@…> token.
bool fits_in_token(std::string_view id) {
  for (const char c : id) {
    if (is_space(c) || c == '<' || c == '>' || c == '|') return false;
  }
  return !id.empty();
}

mention_entity* entity_for(mention_context& context, std::string_view raw, std::string_view words) {
  for (auto& mention : context.entities) {
    if (!mention.used && mention.text == raw) return &mention;
  }
  for (auto& mention : context.entities) {
    if (!mention.used && !mention.name.empty() && mention.name == words) return &mention;
  }
  // The same person mentioned twice may come with a single entity.
  for (auto& mention : context.entities) {
    if (mention.text == raw) return &mention;
  }
  return nullptr;
}

// What an <at>…</at> element becomes: nothing for the bot, " <@id> " for a user, else its words.
std::string resolve_mention(mention_context& context, std::string_view raw, std::string_view inner) {
  const auto words = collapse_whitespace(plain_words(inner));
  mention_entity* mention = entity_for(context, raw, words);
  if (mention == nullptr) {
    if (!context.bot_name.empty() && words == collapse_whitespace(context.bot_name)) return " ";
    return " " + words + " ";
  }
  mention->used = true;
  if (is_bot(context, mention->id)) return " ";
  const auto user = user_id_of(context, *mention);
  if (fits_in_token(user)) return " <@" + user + "> ";
  return " " + words + " ";
}

// The length of an <at …>…</at> element starting at text[at], and where its words are; 0 if none.
std::size_t mention_element(std::string_view text, std::size_t at, std::string_view& inner,
                            forward_search& next_bracket, forward_search& next_close) {
  if (!starts_with_ci(text, at, "<at")) return 0;
  const auto after_name = at + 3;
  if (after_name >= text.size() || (text[after_name] != '>' && !is_space(text[after_name]))) return 0;
  const auto open_end = next_bracket.from(after_name);
  if (open_end == std::string_view::npos) return 0;
  const auto close = next_close.from(open_end + 1);
  if (close == std::string_view::npos) return 0;
  inner = text.substr(open_end + 1, close - open_end - 1);
  return close + 5 - at;
}

// The message text as the parser wants it (see the header for the rules).
std::string clean_text(std::string_view html, mention_context& context) {
  std::string out;
  out.reserve(html.size());
  forward_search next_bracket{html, ">"};
  forward_search next_close{html, "</at>"};
  for (std::size_t at = 0; at < html.size();) {
    if (html[at] == '<') {
      std::string_view inner;
      if (const auto element = mention_element(html, at, inner, next_bracket, next_close); element > 0) {
        out += resolve_mention(context, html.substr(at, element), inner);
        at += element;
        continue;
      }
      if (const auto tag = tag_length(html, at, next_bracket); tag > 0) {
        if (breaks_words(html.substr(at, tag))) out += ' ';
        at += tag;
        continue;
      }
    } else if (html[at] == '&') {
      if (const auto used = decode_entity(html, at, out); used > 0) {
        at += used;
        continue;
      }
    }
    out += html[at++];
  }
  return collapse_whitespace(out);
}

// ---- activities ------------------------------------------------------------------------------

std::string time_zone_of(const node& activity) {
  if (const json* zone = activity.find("localTimezone"); zone != nullptr && zone->is_string()) {
    return zone->get<std::string>();
  }
  if (const json* entities = activity.find("entities"); entities != nullptr && entities->is_array()) {
    for (const auto& entity : *entities) {
      if (!entity.is_object() || entity.value("type", json{}) != "clientInfo") continue;
      if (const auto zone = entity.find("timezone"); zone != entity.end() && zone->is_string()) {
        return zone->get<std::string>();
      }
    }
  }
  return {};
}

// membersAdded / membersRemoved: entries without a usable id are skipped, not fatal.
std::vector<member_ref> members_of(const node& activity, std::string_view key) {
  std::vector<member_ref> members;
  const json* list = activity.find(key);
  if (list == nullptr || !list->is_array()) return members;
  for (const auto& entry : *list) {
    if (!entry.is_object()) continue;
    const auto text_at = [&](const char* field) {
      const auto found = entry.find(field);
      return found != entry.end() && found->is_string() ? found->get<std::string>() : std::string{};
    };
    member_ref member{text_at("id"), text_at("aadObjectId"), text_at("name")};
    if (member.object_id.empty()) member.object_id = text_at("objectId");
    if (!member.chat_id.empty()) members.push_back(std::move(member));
  }
  return members;
}

bot::inbound new_inbound(const decoded_activity& out, const node& activity) {
  bot::inbound event;
  event.platform = "teams";
  event.event_id = out.activity_id;
  event.user = out.user_id;
  std::tie(event.channel, event.thread) = channel_and_thread(out.conversation.conversation_id);
  event.time_zone = time_zone_of(activity);
  return event;
}

void ignore(decoded_activity& out, std::string reason) {
  out.event.reset();
  out.ignored_because = std::move(reason);
}

void decode_message(const node& activity, std::string_view bot_app_id, decoded_activity& out) {
  const auto text = activity.string("text");
  if (code_points(text) > max_text_chars) fail("text is longer than 40000 characters");
  auto entities = mention_entities(activity);
  const auto own_id = "28:" + std::string{bot_app_id};
  if (out.user_chat_id == out.conversation.bot_id || (!bot_app_id.empty() && out.user_chat_id == own_id)) {
    return ignore(out, "the bot's own message");
  }
  mention_context context{std::move(entities), {own_id, out.conversation.bot_id}, out.conversation.bot_name,
                          out.user_chat_id, activity.object("from").string_or_empty("aadObjectId")};
  if (bot_app_id.empty()) context.bot_ids[0].clear();
  for (const auto& mention : context.entities) {
    if (is_bot(context, mention.id) || !mention.id.starts_with("29:")) continue;
    auto object_id = mention.aad_object_id;
    if (object_id.empty() && mention.id == context.sender_chat_id) object_id = context.sender_aad_id;
    out.mentioned.push_back({mention.id, std::move(object_id), mention.name});
  }
  auto event = new_inbound(out, activity);
  event.text = clean_text(text, context);
  out.event = std::move(event);
}

std::string request_value(const node& data) {
  const json* request = data.find("request");
  if (request == nullptr) return {};
  if (request->is_string()) return request->get<std::string>();
  if (request->is_number()) return request->dump();
  fail(data.where("request") + " is " + request->type_name() + ", expected a string");
}

void decode_invoke(const node& activity, decoded_activity& out) {
  const auto name = activity.string_or_empty("name");
  if (name != "adaptiveCard/action") return ignore(out, "an invoke named " + (name.empty() ? "(none)" : name));
  const auto action = activity.object("value").object("action");
  const auto type = action.string("type");
  if (type != "Action.Execute") return ignore(out, "an adaptiveCard/action of type " + type);
  const auto verb = action.id("verb");
  const auto data = action.optional_object("data");
  const auto value = data ? request_value(*data) : std::string{};
  out.is_card_action = true;
  auto event = new_inbound(out, activity);
  event.action = bot::button_action{verb, value};
  out.event = std::move(event);
}

decoded_activity decode_object(const node& activity, std::string_view bot_app_id) {
  decoded_activity out;
  out.type = activity.id("type");
  out.activity_id = activity.id("id");
  out.conversation.service_url = activity.id("serviceUrl");
  const auto conversation = activity.object("conversation");
  out.conversation.conversation_id = conversation.id("id");
  out.conversation.conversation_type = conversation.string_or_empty("conversationType");
  if (out.conversation.conversation_type.empty()) out.conversation.conversation_type = "personal";
  out.conversation.tenant_id = conversation.string_or_empty("tenantId");
  if (const auto channel_data = activity.optional_object("channelData")) {
    if (const auto tenant = channel_data->optional_object("tenant"); tenant && out.conversation.tenant_id.empty()) {
      out.conversation.tenant_id = tenant->string_or_empty("id");
    }
  }
  if (const auto recipient = activity.optional_object("recipient")) {
    out.conversation.bot_id = recipient->string_or_empty("id");
    out.conversation.bot_name = recipient->string_or_empty("name");
  }
  if (out.conversation.bot_id.empty() && !bot_app_id.empty()) out.conversation.bot_id = "28:" + std::string{bot_app_id};
  const auto from = activity.object("from");
  out.user_chat_id = from.id("id");
  out.user_id = from.string_or_empty("aadObjectId");
  if (out.user_id.empty()) out.user_id = out.user_chat_id;
  out.user_name = from.string_or_empty("name");
  out.reply_to_id = activity.string_or_empty("replyToId");

  if (const auto channel_data = activity.optional_object("channelData")) {
    if (const auto team = channel_data->optional_object("team")) out.team_id = team->string_or_empty("id");
    out.event_type = channel_data->string_or_empty("eventType");
  }

  if (out.type == "message") {
    decode_message(activity, bot_app_id, out);
  } else if (out.type == "invoke") {
    decode_invoke(activity, out);
  } else if (out.type == "conversationUpdate" || out.type == "installationUpdate") {
    const auto own_id = "28:" + std::string{bot_app_id};
    const auto is_this_bot = [&](const std::string& id) {
      return id == out.conversation.bot_id || (!bot_app_id.empty() && id == own_id);
    };
    for (const auto* list : {"membersAdded", "membersRemoved"}) {
      const bool added = std::string_view{list} == "membersAdded";
      for (const auto& member : members_of(activity, list)) {
        if (is_this_bot(member.chat_id)) {
          (added ? out.bot_added : out.bot_removed) = true;
        } else if (member.chat_id.starts_with("29:")) {
          (added ? out.members_added : out.members_removed).push_back(member);
        }
      }
    }
    if (out.type == "installationUpdate") out.installation_action = activity.string_or_empty("action");
    ignore(out, "an activity of type " + out.type + " (the roster is read from it)");
  } else {
    ignore(out, "an activity of type " + out.type);
  }
  return out;
}

}  // namespace

std::pair<std::string, std::string> channel_and_thread(const std::string& conversation_id) {
  const auto at = conversation_id.find(thread_marker);
  if (at == std::string::npos) return {conversation_id, {}};
  return {conversation_id.substr(0, at), conversation_id.substr(at + thread_marker.size())};
}

std::variant<decoded_activity, activity_error> decode_activity(std::string_view body, std::string_view bot_app_id) {
  if (body.size() > max_body_bytes) {
    return activity_error{"activity is " + std::to_string(body.size()) + " bytes, more than 262144"};
  }
  json root;
  try {
    root = json::parse(body);
  } catch (const json::parse_error& error) {
    // The position only: the parser's own message quotes the body, which may hold user text.
    return activity_error{"activity is not valid JSON (syntax error at byte " + std::to_string(error.byte) + ")"};
  } catch (const json::exception&) {
    // nlohmann throws out_of_range for numbers too large for a double (found by fuzzing).
    return activity_error{"activity is not usable JSON (a number out of range)"};
  }
  if (!root.is_object()) return activity_error{std::string{"activity is "} + root.type_name() + ", expected an object"};
  try {
    return decode_object(node{root, {}}, bot_app_id);
  } catch (const malformed& error) {
    return activity_error{error.problem};
  } catch (const json::exception& error) {
    return activity_error{std::string{"activity could not be decoded: "} + error.what()};
  }
}

}  // namespace releasebot::integrations::teams
