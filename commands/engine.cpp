#include "commands/engine.hpp"

#include "commands/handler_context.hpp"
#include "commands/parser.hpp"
#include "commands/timers.hpp"
#include "commands/time_text.hpp"
#include "commands/version.hpp"

#include <algorithm>
#include <cctype>

namespace releasebot::commands {

std::string join_words(const std::vector<std::string>& words, std::string_view separator) {
  std::string text;
  for (const auto& word : words) {
    if (!text.empty()) text += separator;
    text += word;
  }
  return text;
}

engine::engine(storage::database& db, const policy& rules, engine_settings settings)
    : db_{db}, rules_{rules}, settings_{std::move(settings)} {}

outcome engine::execute(const request& from, const command& what) {
  handler_context ctx{*this, from};
  auto result = std::visit([&ctx](const auto& cmd) { return handle(ctx, cmd); }, what);
  result.changed = result.changed || ctx.changed;
  return result;
}

bool engine::fire(const storage::timer_record& timer, std::chrono::sys_seconds now, bool late) {
  const request from{"scheduler", "timer-" + std::to_string(timer.id), "releasebot", "", "", "", now};
  handler_context ctx{*this, from};
  const bool fired = fire_timer(ctx, timer, late);
  if (fired && timer.release_id) {
    const auto release = ctx.releases.find(*timer.release_id);
    ctx.audit(release ? &*release : nullptr, "timer_" + timer.kind,
              {{"key", timer.key}, {"due_at", storage::to_iso(timer.due_at)}, {"late", late}});
  }
  return fired;
}

handler_context::handler_context(engine& owner, const request& from_)
    : from{from_},
      rules{owner.rules()},
      settings{owner.settings()},
      releases{owner.db()},
      audit_trail{owner.db()},
      outbox{owner.db()},
      grants{owner.db()},
      timers{owner.db()},
      people{owner.db()},
      directory{owner.db(), from.platform} {}

void handler_context::refuse(std::string problem) const { throw command_refused{std::move(problem)}; }
void handler_context::refuse(message said) const {
  said.kind = message_kind::error;
  throw command_refused{std::move(said)};
}

bool handler_context::is_admin(std::string_view user) const {
  if (std::find(settings.admins.begin(), settings.admins.end(), user) != settings.admins.end()) return true;
  const bool any_alias = std::any_of(settings.admins.begin(), settings.admins.end(), [](const std::string& admin) {
    return admin.find('@') != std::string::npos || admin.starts_with("29:");
  });
  if (!any_alias) return false;
  const auto person = directory.find(user);
  if (!person) return false;
  const auto same_text = [](std::string_view a, std::string_view b) {
    return !a.empty() && a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  };
  return std::any_of(settings.admins.begin(), settings.admins.end(), [&](const std::string& admin) {
    return same_text(admin, person->email) || same_text(admin, person->principal_name) || admin == person->chat_id;
  });
}

std::vector<std::string> handler_context::roles_of(std::string_view user) { return grants.roles_of(user); }

bool handler_context::holds(std::string_view user, std::string_view role) {
  const auto roles = roles_of(user);
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool handler_context::is_coordinator_of(const storage::release_record& release) {
  return release.coordinator == from.user || holds(from.user, rules.coordinator_role);
}

namespace {

// "qa, dev-lead or the release's coordinator": who a permission rule names, in words.
std::string who_holds(const permission& rule) {
  auto names = rule.roles;
  if (rule.release_coordinator_may) names.emplace_back("the release's coordinator");
  if (names.size() <= 1) return names.empty() ? std::string{} : names.front();
  const auto last = names.back();
  names.pop_back();
  return join_words(names, ", ") + " or " + last;
}

}  // namespace

void handler_context::name_actor(message_builder& out, std::string_view actor) const {
  if (const auto source = settings.sources.find(actor); source != settings.sources.end()) {
    out.text(source->second.display_name);
  } else {
    out.mention(actor);
  }
}

void handler_context::require_permission(std::string_view family, const storage::release_record* release) {
  if (const auto source = settings.sources.find(from.user); source != settings.sources.end()) {
    // A source's signature is its credential; what it may run is its configuration, not roles.
    const auto& allowed = source->second.families;
    if (std::find(allowed.begin(), allowed.end(), family) != allowed.end()) return;
    refuse(source->second.display_name + " may not " + std::string{family} + " — only " + join_words(allowed));
  }
  if (is_admin(from.user)) return;
  const auto* rule = rules.find_permission(family);
  // A loaded policy has a rule for every family; one built otherwise fails closed.
  if (rule == nullptr) refuse("only admins can " + std::string{family} + " — the policy has no rule for it");
  if (rule->anyone) return;
  const auto mine = roles_of(from.user);
  for (const auto& role : rule->roles) {
    if (std::find(mine.begin(), mine.end(), role) != mine.end()) return;
  }
  if (release != nullptr && rule->release_coordinator_may && release->coordinator == from.user) return;
  std::string who = who_holds(*rule);
  if (who.empty()) who = "admins";
  refuse("only " + who + " can " + std::string{family} + (release != nullptr ? " " + release->version : "") +
         "; you hold: " + (mine.empty() ? std::string{"no role"} : join_words(mine)));
}

storage::release_record handler_context::resolve(std::string_view version_text) {
  if (const auto exact = parse_version(version_text)) {
    if (auto found = releases.find_by_version(exact->to_string())) return *found;
    refuse("there is no release " + exact->to_string() + " — say list all to see them");
  }
  const auto prefix = parse_version_prefix(version_text);
  if (!prefix) refuse("'" + std::string{version_text} + "' is not a version — write it like 4.2.0 or v4.2");
  std::vector<storage::release_record> matches;
  for (auto& release : releases.all()) {
    if (release.state == "active" &&
        matches_prefix(version{release.major, release.minor, release.patch}, *prefix)) {
      matches.push_back(std::move(release));
    }
  }
  if (matches.empty()) refuse("no active release matches " + std::string{version_text} + " — say list to see them");
  if (matches.size() > 1) {
    std::vector<std::string> names;
    for (auto it = matches.rbegin(); it != matches.rend(); ++it) names.push_back(it->version);
    std::string list = join_words(std::vector<std::string>(names.begin(), names.end() - 1));
    refuse(std::string{version_text} + " matches " + list + " and " + names.back() + " — say which");
  }
  return matches.front();
}

storage::release_record handler_context::resolve_active(std::string_view version_text) {
  auto release = resolve(version_text);
  if (release.state != "active") {
    refuse(release.version + " is " + release.state + " — nothing more can be recorded on it");
  }
  return release;
}

const release_type_definition& handler_context::type_of(const storage::release_record& release) const {
  if (const auto* type = rules.find_type(release.type)) return *type;
  refuse(release.version + " has type " + release.type + ", which the policy no longer defines — add it back to " +
         rules.source);
}

const stage_definition& handler_context::stage_of(const storage::release_record& release) const {
  if (const auto* stage = rules.find_stage(release.stage)) return *stage;
  refuse(release.version + " is in stage " + release.stage + ", which the policy no longer defines — add it back to " +
         rules.source);
}

std::string handler_context::reader_zone() const {
  return from.time_zone.empty() ? settings.default_time_zone : from.time_zone;
}

std::string handler_context::when(storage::instant at) const { return format_time(at, reader_zone()); }

std::string handler_context::channel_when(storage::instant at) const {
  return format_time(at, settings.default_time_zone);
}

std::string handler_context::zone_of(std::string_view user) {
  return people.time_zone_of(user).value_or(settings.default_time_zone);
}

storage::instant handler_context::parse_when(std::string_view text) const {
  auto parsed = parse_time(text, reader_zone());
  if (const auto* error = std::get_if<time_error>(&parsed)) refuse(error->problem);
  return std::get<std::chrono::sys_seconds>(parsed);
}

void handler_context::audit(const storage::release_record* release, std::string_view action, nlohmann::json details) {
  storage::audit_entry entry;
  entry.at = from.now;
  entry.actor = from.user;
  entry.platform = from.platform;
  entry.event_id = from.event_id;
  if (release != nullptr) entry.release_id = release->id;
  entry.action = std::string{action};
  entry.details = details.dump();
  audit_trail.append(std::move(entry));
  changed = true;
}

storage::outbox_message addressed(const storage::release_record& release, const message& body, storage::instant now) {
  storage::outbox_message out;
  out.platform = release.platform;
  out.channel = release.channel;
  out.release_id = release.id;
  out.payload = nlohmann::json(body).dump();
  out.created_at = now;
  return out;
}

storage::row_id handler_context::announce_in_thread(const storage::release_record& release, const message& body,
                                                    bool broadcast) {
  auto out = addressed(release, body, from.now);
  out.destination = "thread";
  out.broadcast = broadcast;
  changed = true;
  return outbox.enqueue(out);
}

storage::row_id handler_context::announce_opening(const storage::release_record& release, const message& body) {
  auto out = addressed(release, body, from.now);
  out.destination = "channel";
  out.starts_thread = true;
  changed = true;
  return outbox.enqueue(out);
}

storage::row_id handler_context::send_direct(const storage::release_record& release, std::string_view user,
                                             const message& body, std::optional<storage::row_id> updates) {
  auto out = addressed(release, body, from.now);
  out.destination = "direct";
  out.recipient = std::string{user};
  out.updates = updates;
  changed = true;
  return outbox.enqueue(out);
}

outcome changed_reply(message body) { return outcome{std::move(body), true, false}; }
outcome query_reply(message body, bool make_public) { return outcome{std::move(body), false, make_public}; }

namespace {

// Who may, in the words of the loaded policy's rule for `family`.
std::string who_may(const policy& rules, std::string_view family) {
  const auto* rule = rules.find_permission(family);
  if (rule == nullptr) return "admins";
  if (rule->anyone) return "anyone";
  const auto who = who_holds(*rule);
  return who.empty() ? "admins" : who + " (and admins)";
}

}  // namespace

message help_message(std::string_view topic, const policy& rules) {
  message_builder out;
  if (!topic.empty()) {
    const auto* spec = find_spec(topic);
    if (spec == nullptr) {
      out.text("I don't know '").user_text(topic).text("' — say help to see what I can do");
      return out.build();
    }
    out.strong(spec->name).text(" — ").text(spec->summary).line();
    out.text("usage: ").code(spec->usage).line();
    std::string who = spec->who;
    for (std::size_t i = 0; i < spec->families.size(); ++i) {
      const auto rule = who_may(rules, spec->families[i]);
      const auto& use = i < spec->family_uses.size() ? spec->family_uses[i] : spec->families[i];
      who += (who.empty() ? "" : "; ") + (spec->families.size() > 1 ? use + ": " + rule : rule);
    }
    out.text("who: ").text(who).line();
    if (!spec->aliases.empty()) out.text("also: ").text(join_words(spec->aliases)).line();
    for (const auto& example : spec->examples) out.text("e.g. ").code(example).line();
    return out.build();
  }
  out.strong("What I can do").text(" (say help <command> for details):").line();
  for (const auto& spec : command_specs()) out.code(spec.usage).text(" — ").text(spec.summary).line();
  out.text("Versions may be written 4.2.0, v4.2.0, or 4.2 for the one active release it matches.").line();
  return out.build();
}

outcome handle(handler_context& ctx, const help_command& cmd) { return query_reply(help_message(cmd.topic, ctx.rules)); }

}  // namespace releasebot::commands
