#include "bot/dispatcher.hpp"

#include "commands/parser.hpp"
#include "storage/people.hpp"
#include "storage/processed_events.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace releasebot::bot {

namespace {

commands::message error_message(std::string_view problem, std::string_view usage = {}) {
  commands::message_builder out{commands::message_kind::error};
  out.text(problem);
  if (!usage.empty()) out.line().text("usage: ").code(usage);
  return out.build();
}

std::variant<commands::command, commands::parse_error> command_of(const inbound& event) {
  if (event.command) return *event.command;
  if (event.action) {
    const auto* action = commands::find_action(event.action->action_id);
    if (action == nullptr) return commands::parse_error{"that button is not one of mine", {}};
    try {
      return action->parse(event.action->value);
    } catch (const commands::parse_error& error) {
      return error;
    }
  }
  auto parsed = commands::parse(event.text);
  return parsed;
}

// The command family an event asks for, for the metrics: the registry's name of its first word.
std::string family_of(const inbound& event) {
  if (event.command) return commands::command_name(*event.command);
  if (event.action) {
    const auto* action = commands::find_action(event.action->action_id);
    return action == nullptr ? "unknown" : action->command_name;
  }
  for (const auto& token : commands::tokenize(event.text)) {
    if (!commands::mention_id(token).empty()) continue;  // the bot's own mention
    if (const auto* spec = commands::find_spec(token)) return spec->name;
    break;
  }
  return "unknown";
}

}  // namespace

dispatcher::dispatcher(storage::database& db, commands::engine& engine, clock_function now)
    : db_{db}, engine_{engine}, now_{std::move(now)} {}

dispatch_result dispatcher::dispatch(const inbound& event) { return std::move(dispatch_all({&event, 1}).front()); }

std::vector<dispatch_result> dispatcher::dispatch_all(std::span<const inbound> events) {
  std::vector<dispatch_result> results;
  results.reserve(events.size());
  try {
    storage::transaction tx{db_};
    bool wrote = false;
    for (const auto& event : events) {
      results.push_back(apply_counted(event, wrote));
    }
    if (wrote) tx.commit();
  } catch (const std::exception& failure) {
    // BEGIN or COMMIT failed (disk full, I/O error): nothing of this group is stored.
    spdlog::error("could not store {} event(s): {}", events.size(), failure.what());
    results.assign(events.size(), dispatch_result{});
    for (auto& result : results) {
      result.reply = error_message("something went wrong on my side and nothing was changed — try again in a moment");
      result.refused = true;
      result.failed = true;
    }
  }
  return results;
}

dispatch_result dispatcher::apply_counted(const inbound& event, bool& wrote) {
  auto result = apply(event, wrote);
  if (stats_ != nullptr) {
    const char* outcome = result.duplicate ? "duplicate"
                          : result.failed    ? "failed"
                          : result.refused   ? "refused"
                          : result.changed ? "applied"
                                           : "answered";
    stats_->add("releasebot_commands_total", {{"family", family_of(event)}, {"outcome", outcome}});
  }
  return result;
}

// Inside the caller's transaction; sets `wrote` when it left something for the caller to commit.
dispatch_result dispatcher::apply(const inbound& event, bool& wrote) {
  dispatch_result result;
  try {
    storage::savepoint unit{db_};
    storage::processed_events seen{db_};
    if (const auto stored = seen.stored_reply(event.platform, event.event_id)) {
      const auto json = nlohmann::json::parse(stored->reply);
      result.reply_posted = stored->posted;
      result.reply = json.at("reply").get<commands::message>();
      result.make_public = json.value("public", false);
      result.duplicate = true;
      spdlog::info("event {}/{} was already applied; answering from the stored reply", event.platform, event.event_id);
      return result;
    }
    const bool person_changed = !event.time_zone.empty() &&
                                storage::people{db_}.set_time_zone(event.user, event.time_zone, now_());
    auto command = command_of(event);
    if (const auto* problem = std::get_if<commands::parse_error>(&command)) {
      result.reply = error_message(problem->problem, problem->usage);
      result.refused = true;
      return result;
    }
    const commands::request from{event.platform, event.event_id, event.user, event.channel,
                                 event.thread,   event.time_zone, now_()};
    auto outcome = engine_.execute(from, std::get<commands::command>(command));
    result.reply = std::move(outcome.reply);
    result.make_public = outcome.make_public;
    if (outcome.changed) {
      seen.record(event.platform, event.event_id,
                  nlohmann::json{{"reply", result.reply}, {"public", result.make_public}}.dump(), from.now);
      unit.commit();
      result.changed = true;
      wrote = true;
    } else if (person_changed) {
      unit.commit();  // only the person's time zone; the query itself wrote nothing
      wrote = true;
    }
    // A query wrote nothing; the savepoint rolls back on leaving this scope.
  } catch (const commands::command_refused& refusal) {
    result.reply = refusal.said() ? *refusal.said() : error_message(refusal.what());
    result.refused = true;
  } catch (const std::exception& failure) {
    spdlog::error("event {}/{} from {} failed: {}", event.platform, event.event_id, event.user, failure.what());
    result.reply = error_message("something went wrong on my side and nothing was changed — try again in a moment");
    result.refused = true;
    result.failed = true;
  }
  return result;
}

}  // namespace releasebot::bot
